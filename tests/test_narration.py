from types import SimpleNamespace

import numpy as np
import pytest

from rsna_workshop import narration


def fake(matrix, classes=("normal", "hemorrhage"), history=None):
    return SimpleNamespace(classes=classes, confusion_matrix=np.array(matrix), history=history or {})


def test_accuracy_quotes_counts_and_wilson_interval():
    (sentence,) = narration.accuracy(fake([[8, 2], [1, 9]]))
    assert "17 of the 20 test slices" in sentence and "85%" in sentence
    assert "64% to 95%" in sentence  # Wilson 95 % interval of 17/20


def test_per_class_counts_each_true_class():
    notes = narration.per_class(fake([[9, 0], [4, 5]]))
    assert notes == [
        "Of the 9 test slices that really are 'normal', it called 9 'normal' (100%).",
        "Of the 9 test slices that really are 'hemorrhage', it called 5 'hemorrhage' (56%).",
    ]


def test_small_data_says_when_the_test_cannot_beat_a_coin_flip():
    notes = narration.small_data(fake([[6, 3], [4, 5]]))  # 11/18
    assert "each slice moves the accuracy by 6 percentage points" in notes[1]
    assert "coin flip" in notes[2] and "cannot show" in notes[2]


def test_small_data_says_when_it_does_beat_a_coin_flip():
    notes = narration.small_data(fake([[9, 0], [1, 8]]))  # 17/18
    assert "above a coin flip" in notes[2] and "cannot show" not in notes[2]


def test_imbalance_exposes_the_majority_baseline_and_missed_hemorrhages():
    notes = narration.imbalance(fake([[150, 0], [4, 1]]))
    assert "150 of the 155 test slices are 'normal'" in notes[1] and "97%" in notes[1]
    assert "Of the 5 test slices with hemorrhage it flagged 1 (20%)" in notes[2]
    assert "missed almost all" in notes[2]


def test_imbalance_counts_every_hemorrhage_class_and_finds_normal_by_name():
    notes = narration.imbalance(fake([[5, 0, 1], [2, 20, 0], [0, 1, 8]],
                                     classes=("subdural", "normal", "intraparenchymal")))
    assert "22 of the 37 test slices are 'normal'" in notes[1]
    assert "Of the 15 test slices with hemorrhage it flagged 14 (93%): it found most" in notes[2]


def test_overfitting_finds_the_best_epoch_and_the_rise_after_it():
    history = {"accuracy": [0.6, 0.8, 0.95], "test_accuracy": [0.6, 0.75, 0.72],
               "test_loss": [0.7, 0.5, 0.65]}
    notes = narration.overfitting(fake([[1]], history=history))
    assert "95% of its training slices and 72% of its test slices" in notes[0]
    assert "a gap of 23 percentage points" in notes[0]
    assert "lowest after epoch 2 of 3 and then rose by 30%" in notes[1]


def test_overfitting_says_so_when_there_is_no_sign_of_it():
    history = {"accuracy": [0.6, 0.7], "test_accuracy": [0.6, 0.69], "test_loss": [0.7, 0.6]}
    notes = narration.overfitting(fake([[1]], history=history))
    assert "almost no gap" in notes[0] and "no clear sign of overfitting" in notes[1]


def test_compare_names_the_winner_or_calls_a_tie():
    gray = fake([[1]], history={"test_accuracy": [0.5, 0.70]})
    color = fake([[1]], history={"test_accuracy": [0.6, 0.85]})
    notes = narration.compare({"grayscale": gray, "colour-coded": color})
    assert notes[0] == "grayscale: test accuracy 70%, colour-coded: test accuracy 85%."
    assert notes[1] == "colour-coded beat grayscale by 15 percentage points."
    close = fake([[1]], history={"test_accuracy": [0.71]})
    assert "tie" in narration.compare({"a": gray, "b": close})[1]
    with pytest.raises(ValueError, match="at least two"):
        narration.compare({"only": gray})


def test_notes_render_as_a_markdown_list():
    notes = narration.Notes(["one", "two"])
    assert notes._repr_markdown_() == "**What to notice**\n\n- one\n- two"
    assert str(notes) == "What to notice:\n- one\n- two"
