"""Comparisons call a model better or worse only when a test on the data supports it."""

from __future__ import annotations

import types

import numpy as np
import pytest

from rsna_workshop.errors import SettingsError
from rsna_workshop.show import comparisons
from rsna_workshop.workshop import ORIGINAL_RESULTS


def result(right, labels, ids=None, train=0.95, test_loss=(0.5, 0.6)):
    """A two-class result: which test slices it got right, their labels (1 = hemorrhage), their ids."""
    right, labels = np.asarray(right, bool), np.asarray(labels)
    predicted = np.where(right, labels, 1 - labels)
    ids = ids if ids is not None else [f"s{i}" for i in range(len(labels))]
    history = {"accuracy": [train], "test_accuracy": [float(right.mean())], "test_loss": list(test_loss)}
    return types.SimpleNamespace(classes=("normal", "hemorrhage"), positive="hemorrhage", test_labels=labels,
                                 test_probabilities=np.eye(2)[predicted] * 0.8 + 0.1, test_ids=ids,
                                 history=history)


BALANCED = [0] * 150 + [1] * 150


def test_a_clear_paired_difference_is_called_better():
    gray = result([1] * 150 + [1] * 70 + [0] * 80, BALANCED)
    color = result([1] * 150 + [1] * 130 + [0] * 20, BALANCED)
    notes = comparisons.compare({"grayscale": gray, "colour-coded": color})
    assert notes[0] == "grayscale: accuracy 73% (95% CI 68% to 78%; 220 of 300)."
    assert notes[2].startswith("On the same 300 test slices, colour-coded was right on 60 slices that "
                               "grayscale got wrong, and grayscale on 0")
    assert notes[2].endswith("(McNemar exact test, p < 0.001): colour-coded is better on accuracy.")


def test_the_reverse_is_called_worse_and_a_small_difference_cannot_be_told_apart():
    a = result([1] * 8 + [0] * 2, [0] * 5 + [1] * 5)
    b = result([1] * 7 + [0] * 3, [0] * 5 + [1] * 5)  # one slice apart
    notes = comparisons.compare({"first": a, "second": b})
    assert "on these test slices the two cannot be told apart on accuracy" in notes[2]
    assert "better" not in notes[2]
    strong = result([1] * 280 + [0] * 20, BALANCED)
    weak = result([0] * 80 + [1] * 200 + [0] * 20, BALANCED)
    assert comparisons.compare({"strong": strong, "weak": weak})[2].endswith(
        "strong is better on accuracy.")


def test_different_test_slices_are_compared_unpaired_with_an_interval():
    imbalanced = result([1] * 150 + [0] * 5, [0] * 150 + [1] * 5, ids=[f"a{i}" for i in range(155)])
    balanced = result([1] * 110 + [0] * 40 + [1] * 110 + [0] * 40, BALANCED)
    notes = comparisons.tradeoff({"lesson 2": imbalanced, "lesson 3": balanced})
    assert "found 0 of 5 hemorrhage slices (sensitivity 0%)" in notes[0]
    assert "lesson 3 73% of 300 and lesson 2 97% of 155 test slices: a difference of -23 points" in notes[2]
    assert notes[2].endswith("lesson 2 is better on accuracy.")
    assert notes[3].endswith("lesson 3 is better on sensitivity.")
    assert notes[4] == ("lesson 2 has the higher accuracy, yet lesson 3 finds more of the bleeds: "
                        "accuracy alone would have picked the wrong model.")


def test_tradeoff_draws_no_conclusion_the_data_do_not_support():
    few = result([1] * 9 + [0] + [1] * 3 + [0] * 2, [0] * 10 + [1] * 5, ids=[f"a{i}" for i in range(15)])
    other = result([1] * 7 + [0] * 3 + [1] * 4 + [0] * 1, [0] * 10 + [1] * 5, ids=[f"b{i}" for i in range(15)])
    notes = comparisons.tradeoff({"a": few, "b": other})
    assert len(notes) == 4 and all("cannot be told apart" in line for line in notes[2:])


def test_seeds_must_agree_before_a_difference_is_claimed():
    base = result([1] * 220 + [0] * 80, BALANCED)
    better = result([1] * 280 + [0] * 20, BALANCED)
    consistent = comparisons.compare({"gray": [base, base], "colour": [better, better]})
    assert consistent[1].startswith("colour: accuracy 93% on average over 2 seeds (from 93% to 93%")
    assert consistent[2].endswith("colour is better on accuracy in every seed.")
    mixed = comparisons.compare({"gray": [base, base], "colour": [better, base]})
    assert "better in 1, worse in 0 and could not tell them apart in 1" in mixed[2]
    assert mixed[2].endswith("no difference the seeds agree on.")
    with pytest.raises(SettingsError, match="same number of runs"):
        comparisons.compare({"gray": [base], "colour": [better, better]})


def test_longer_training_reports_the_gap_and_whether_test_accuracy_changed():
    short = result([1] * 220 + [0] * 80, BALANCED, train=0.90, test_loss=(0.5, 0.6))
    long = result([1] * 215 + [0] * 85, BALANCED, train=0.99, test_loss=(0.5, 0.9))
    gap, verdict, loss = comparisons.longer_training({"75 epochs": short, "250 epochs": long})
    assert gap == ("Training accuracy went from 90% with 75 epochs to 99% with 250 epochs; the gap to "
                   "test accuracy went from 17 to 27 percentage points.")
    assert verdict.endswith("the two cannot be told apart on accuracy.")
    assert loss.startswith("The test loss rose further: it ended 20% above")
    flat = result([1] * 220 + [0] * 80, BALANCED, train=0.90, test_loss=(0.5, 0.51))
    loss = comparisons.longer_training({"75 epochs": flat, "250 epochs": long})[2]
    assert loss == ("The test loss rose: it ended 2% above its lowest value with 75 epochs and 80% "
                    "above it with 250 epochs.")


def test_against_the_original_agrees_within_the_noise_or_says_how_it_differs():
    small = result([1] * 7 + [0] * 3, [0] * 5 + [1] * 5)
    notes = comparisons.against_original(small, ORIGINAL_RESULTS["experiment1"])
    assert notes.title == "In the original workshop (real RSNA images, Teachable Machine)"
    assert notes[0] == ("Experiment 1, 30 normal + 30 hemorrhage: accuracy 60% (95% CI 31% to 83%; "
                        "6 of 10).")
    assert notes[1] == "Your run: accuracy 70% (95% CI 40% to 89%; 7 of 10)."
    assert notes[2].startswith("Your accuracy and the original's agree within the noise")
    easy = result([1] * 150 + [1] * 5, [0] * 150 + [1] * 5)
    notes = comparisons.against_original(easy, ORIGINAL_RESULTS["experiment2"])
    assert notes[0] == ("Experiment 2, 1,000 normal + 30 hemorrhage: accuracy published as 0.97, read here "
                        "as 150 of 155, a count of its test set that rounds to it (95% CI 93% to 99%); "
                        "found 0 of 5 hemorrhages.")
    assert notes[1].endswith("; found 5 of 5 hemorrhages.")
    assert notes[3].startswith("Your share of hemorrhages found is higher than the original's by 100 points, "
                               "more than chance explains")
    assert notes[3].endswith("this model flags more of their bleeds.")
    assert notes[2].startswith("Your accuracy and the original's agree within the noise")


def test_optimism_says_when_the_first_evaluation_flatters_the_model():
    by_slice = result([1] * 230 + [0] * 70, BALANCED)
    by_patient = result([1] * 185 + [0] * 116, [0] * 151 + [1] * 150, ids=[f"p{i}" for i in range(301)])
    notes = comparisons.optimism("the split by slice", by_slice, "the split by patient", by_patient)
    assert notes[0] == "the split by slice: accuracy 77% (95% CI 72% to 81%; 230 of 300)."
    assert notes[2].startswith("the split by slice is 15 points higher, more than chance explains (95% CI")
    assert notes[2].endswith("the figure for the split by slice is optimistic.")
    same = comparisons.optimism("a", by_slice, "b", result([1] * 228 + [0] * 72, BALANCED,
                                                            ids=[f"q{i}" for i in range(300)]))
    assert same[2].startswith("The difference, +1 points, is within chance") and same[2].endswith(
        "no difference can be seen here, though one up to the ends of that interval is not ruled out.")
