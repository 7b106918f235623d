"""The "What to notice" sentences quote the run's own numbers and go the way the run went."""

from types import SimpleNamespace

import numpy as np
import pytest

from rsna_workshop.show import narration


def fake(matrix, classes=("normal", "hemorrhage"), history=None, positive="hemorrhage"):
    """A result whose test set gives the confusion matrix ``matrix`` (rows true, columns predicted)."""
    matrix = np.array(matrix)
    pairs = [(i, j) for (i, j), n in np.ndenumerate(matrix) for _ in range(n)]
    labels = np.array([i for i, _ in pairs], dtype=int)
    predicted = np.array([j for _, j in pairs], dtype=int)
    probabilities = 0.2 / len(classes) + 0.8 * np.eye(len(classes))[predicted]
    return SimpleNamespace(classes=classes, positive=positive, test_labels=labels,
                           test_probabilities=probabilities, history=history or {})


def test_tally_says_slices_per_class_in_words():
    assert narration.tally({"normal": 1000, "hemorrhage": 30}) == "1,000 normal and 30 hemorrhage slices"
    assert narration.tally({"normal": 80, "epidural": 80, "subdural": 1}) == (
        "80 normal, 80 epidural and 1 subdural slice")


def test_accuracy_quotes_counts_and_wilson_interval():
    (sentence,) = narration.accuracy(fake([[8, 2], [1, 9]]))
    assert "17 of the 20 test slices" in sentence and "85%" in sentence
    assert "64% to 95%" in sentence  # Wilson 95 % interval of 17/20


def test_per_class_counts_each_true_class():
    notes = narration.per_class(fake([[9, 0], [4, 5]]))
    assert notes == [
        "Of the 9 test slices that really are 'normal', it called 'normal' 100% (95% CI 70% to 100%; 9 of 9).",
        "Of the 9 test slices that really are 'hemorrhage', it called 'hemorrhage' 56% (95% CI 27% to 81%; 5 of 9).",
    ]


def test_small_data_says_when_the_test_cannot_beat_a_coin_flip():
    notes = narration.small_data(fake([[6, 3], [4, 5]]))  # 11/18
    assert "each slice moves the accuracy by 6 percentage points" in notes[1]
    assert "includes 50%, the score of a coin flip" in notes[2] and "cannot show" in notes[2]


def test_small_data_says_when_the_model_did_worse_than_guessing():
    notes = narration.small_data(fake([[2, 8], [9, 1]]))  # 3/20, interval 5% to 36%
    assert "Even the top of the interval (36%) is below a coin flip (50%)" in notes[2]


def test_small_data_says_when_it_does_beat_a_coin_flip():
    notes = narration.small_data(fake([[9, 0], [1, 8]]))  # 17/18
    assert "above a coin flip" in notes[2] and "cannot show" not in notes[2]


def test_imbalance_exposes_the_majority_baseline_and_missed_hemorrhages():
    notes = narration.imbalance(fake([[150, 0], [4, 1]]))
    assert "150 of the 155 test slices are 'normal'" in notes[1] and "97%" in notes[1]
    assert "Of the 5 test slices with 'hemorrhage' it flagged 1 (20%)" in notes[2]
    assert "missed almost all" in notes[2]
    none = narration.imbalance(fake([[150, 0], [5, 0]]))
    assert none[2].endswith("it flagged 0 (0%): it missed every one.")


def test_imbalance_takes_the_declared_positive_class_whatever_the_order():
    notes = narration.imbalance(fake([[14, 1], [2, 20]], classes=("bleed", "nobleed"), positive="bleed"))
    assert "22 of the 37 test slices are 'nobleed'" in notes[1]
    assert "Of the 15 test slices with 'bleed' it flagged 14 (93%): it found most" in notes[2]


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


def test_overfitting_calls_a_flat_test_loss_flat_and_points_at_the_gap():
    losses = [0.7, 0.55, 0.52, 0.5] + [0.51] * 6
    history = {"accuracy": [0.6] * 9 + [0.9], "test_accuracy": [0.6] * 9 + [0.7], "test_loss": losses}
    notes = narration.overfitting(fake([[1]], history=history))
    assert "a gap of 20 percentage points" in notes[0]
    assert "stopped improving after epoch 4 of 10 and ended 2% above" in notes[1]
    assert "flat, not yet clearly rising" in notes[1] and "gap between the two accuracies" in notes[1]


@pytest.mark.parametrize("epochs", [1, 2, 4])
def test_a_short_run_still_improving_at_its_last_epoch_is_not_called_flat(epochs):
    history = {"accuracy": [0.9] * epochs, "test_accuracy": [0.7] * epochs,
               "test_loss": [0.7 - 0.01 * k for k in range(epochs)]}
    notes = narration.overfitting(fake([[1]], history=history))
    assert "flat" not in notes[1] and f"lowest after epoch {epochs} of {epochs}" in notes[1]


def test_a_test_loss_back_at_its_lowest_is_called_within_one_percent_of_it():
    history = {"accuracy": [0.6] * 9 + [0.9], "test_accuracy": [0.6] * 9 + [0.7],
               "test_loss": [0.7, 0.55, 0.5] + [0.52] * 6 + [0.5]}
    notes = narration.overfitting(fake([[1]], history=history))
    assert "stopped improving after epoch 3 of 10 and ended within 1% of that lowest value" in notes[1]


def test_a_test_score_above_the_training_score_is_not_called_no_gap():
    history = {"accuracy": [0.6, 0.6], "test_accuracy": [0.6, 0.7], "test_loss": [0.7, 0.6]}
    notes = narration.overfitting(fake([[1]], history=history))
    assert "the test slices did better, by 10 percentage points" in notes[0] and "no gap" not in notes[0]


def test_notes_render_as_a_markdown_list():
    notes = narration.Notes(["one", "two"])
    assert notes._repr_markdown_() == "**What to notice**\n\n- one\n- two"
    assert str(notes) == "What to notice:\n- one\n- two"


def scored(labels, hemorrhage_probability, history=None):
    """A two-class result whose probabilities are given; its confusion matrix at 0.5."""
    p = np.asarray(hemorrhage_probability, dtype=float)
    labels = np.asarray(labels)
    predicted = (p >= 0.5).astype(int)
    return SimpleNamespace(classes=("normal", "hemorrhage"), positive="hemorrhage", test_labels=labels,
                           test_probabilities=np.stack([1 - p, p], axis=1),
                           history=history or {"test_accuracy": [np.mean(predicted == labels)]})


def test_reruns_quote_each_seed_and_the_spread():
    runs = {f"seed {s}": fake([[1]], history={"test_accuracy": [a]}) for s, a in enumerate((0.6, 0.7, 0.5))}
    notes = narration.reruns(runs)
    assert notes[0] == ("3 runs of the same recipe on the same slices (each run with its own random test "
                        "set, starting weights and batch order) gave test accuracies of 60%, 70% and 50% "
                        "(seed 0, seed 1 and seed 2).")
    assert "spread of 20 percentage points" in notes[1]
    assert notes[2].startswith("Their average, 60%,")


def test_retest_confirms_identical_numbers_and_flags_a_mismatch():
    result = fake([[1]], history={"test_accuracy": [0.7]})
    assert "identical to each other and to the 70%" in narration.retest(result, [0.7, 0.7])[0]
    assert "tell an instructor" in narration.retest(result, [0.7, 0.65])[0]


def test_thresholds_count_found_bleeds_and_false_alarms():
    result = scored([0, 0, 0, 0, 1, 1], [0.05, 0.2, 0.3, 0.6, 0.15, 0.9])
    high, low = narration.thresholds(result, (0.5, 0.1))
    assert "flags 1 of the 2 hemorrhage slices (sensitivity 50%)" in high
    assert "raises 1 false alarm among the 4 normal ones (specificity 75%)" in high
    assert "flags 2 of the 2" in low and "raises 3 false alarms" in low


def test_prevalence_applies_bayes_at_the_emergency_department_rate():
    result = scored([0] * 10 + [1] * 10, [0.1] * 9 + [0.9] + [0.9] * 9 + [0.1])  # sens = spec = 90 %
    here, ed = narration.prevalence(result, ed_prevalence=0.06)
    assert "right 90% of the time at the test set's prevalence (50%)" in here
    assert "right only 36% of the time: 64% of its flags" in ed  # 0.054 / (0.054 + 0.094)
    # 9 of 10 has the Wilson interval 59.6-98.2 %: PPV at 6 % from both low ends and both high ends
    assert ed.endswith("could be anywhere from 9% to 78%.")


def test_exam_level_compounds_the_slice_false_alarm_rate_and_never_says_certain():
    notes = narration.exam_level(fake([[76, 24], [10, 90]]), slices=(1, 10, 30))
    assert "cleared 76% of the normal test slices: 24% of normal slices" in notes[0]
    assert "An exam of 1 normal slices" in notes[1] and "false flag 24% of the time" in notes[1]
    assert "false flag 94% of the time" in notes[2]  # 1 - 0.76 ** 10 = 0.936
    assert "false flag more than 99% of the time" in notes[3]  # 1 - 0.76 ** 30 = 0.9997, not certain
    assert "not exam-level figures" in notes[4]


def test_thresholds_are_named_with_the_decimals_they_have():
    result = scored([0, 0, 0, 1], [0.01, 0.03, 0.05, 0.046])
    low, whole, finer = narration.thresholds(result, (0.046, 0.07, 0.0455))
    assert "from a probability of 4.6%: it flags 1 of the 1 hemorrhage slices" in low
    assert "raises 1 false alarm" in low  # 0.05 >= 0.046
    assert "from a probability of 7%: it flags 0 of the 1" in whole
    assert "from a probability of 4.55%:" in finer
