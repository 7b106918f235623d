""""What to notice" in plain words, computed from a training result so the text matches the run.

Every number in these sentences comes from the result; where a result could go either way the
sentence says which way it went. Each function returns :class:`Notes`, which a notebook shows
as a bulleted list.

>>> notes = overfitting(result)            # doctest: +SKIP
>>> notes                                  # doctest: +SKIP
- In the last epoch the model was right on 91% of its training slices but 72% of its test slices...
"""

from __future__ import annotations

import numpy as np

from .. import evaluation
from ..evaluation import final, loss_rise, wilson_interval


class Notes(list):
    """Sentences shown as a bulleted list under a bold title, "What to notice" unless given
    (Markdown in Jupyter, text elsewhere). ``notes_a + notes_b`` is one list of both."""

    def __init__(self, lines=(), title: str = "What to notice"):
        super().__init__(lines)
        self.title = title

    def __add__(self, other) -> "Notes":
        return Notes(list(self) + list(other), self.title)

    def _repr_markdown_(self) -> str:
        return f"**{self.title}**\n\n" + "\n".join(f"- {line}" for line in self)

    def __str__(self) -> str:
        return f"{self.title}:\n" + "\n".join(f"- {line}" for line in self)


def pct(value: float) -> str:
    """A proportion as a whole percentage: 0.734 -> '73%'."""
    return f"{value:.0%}"


def threshold_pct(value: float) -> str:
    """A threshold as a percentage, with the decimals it has (as the figures show it): 0.1 -> '10%',
    0.045 -> '4.5%'."""
    return f"{value * 100:g}%"


def count(n: int, noun: str) -> str:
    """'1 slice', '3 slices'."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def join(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def tally(counts: dict[str, int]) -> str:
    """Slices per class in words: {'normal': 30, 'hemorrhage': 1} -> '30 normal and 1 hemorrhage slice'."""
    parts = [f"{n:,} {name}" for name, n in counts.items()]
    return join(parts) + (" slice" if list(counts.values())[-1] == 1 else " slices")


def interval(value: evaluation.Interval) -> str:
    """'73% (95% CI 68% to 78%; 219 of 300)'."""
    return (f"{pct(value.estimate)} (95% CI {pct(value.low)} to {pct(value.high)}; "
            f"{value.successes} of {value.n})")


def _matrix(result) -> np.ndarray:
    return evaluation.result_confusion(result)


def _test_accuracy(result) -> tuple[int, int, evaluation.Interval]:
    """Test slices labelled right, test slices, and the accuracy's Wilson 95 % interval."""
    matrix = _matrix(result)
    right, n = int(np.trace(matrix)), int(matrix.sum())
    return right, n, wilson_interval(right, n)


def accuracy(result) -> Notes:
    """How many test slices the model got right, with the 95 % confidence interval."""
    right, n, interval = _test_accuracy(result)
    return Notes([
        f"The model labelled {right} of the {n} test slices correctly: a test accuracy of "
        f"{pct(right / n)} (95% confidence interval {pct(interval.low)} to {pct(interval.high)})."
    ])


def per_class(result) -> Notes:
    """One sentence per class: how many of its test slices the model recognised."""
    matrix = _matrix(result)
    notes = Notes()
    for i, name in enumerate(result.classes):
        n = int(matrix[i].sum())
        if n == 0:
            notes.append(f"There were no '{name}' slices in the test set.")
            continue
        right = int(matrix[i, i])
        notes.append(f"Of the {n} test slices that really are '{name}', it called "
                     f"'{name}' {interval(wilson_interval(right, n))}.")
    return notes


def small_data(result) -> Notes:
    """Lesson 1: a tiny test set makes accuracy coarse and uncertain."""
    _, n, interval = _test_accuracy(result)
    chance = 1 / len(result.classes)
    notes = accuracy(result)
    notes.append(f"With only {n} test slices, each slice moves the accuracy by "
                 f"{100 / n:.0f} percentage points.")
    if interval.high < chance:
        notes.append(f"Even the top of the interval ({pct(interval.high)}) is below a coin flip "
                     f"({pct(chance)}): on these test slices the model did worse than guessing.")
    elif interval.low <= chance:
        notes.append(f"The interval includes {pct(chance)}, the score of a coin flip: this test "
                     f"cannot show that the model is better than guessing.")
    else:
        notes.append(f"Even the low end of the interval ({pct(interval.low)}) is above a coin flip "
                     f"({pct(chance)}), but the interval is {100 * (interval.high - interval.low):.0f} "
                     f"points wide: one small test set cannot pin the accuracy down.")
    return notes


def imbalance(result) -> Notes:
    """Lesson 2: high accuracy that comes from the majority class, not from finding the disease."""
    matrix = _matrix(result)
    sick = evaluation.result_positive(result)
    normal = int(np.argmax(np.delete(matrix.sum(axis=1), sick)))  # the largest of the other classes
    normal += normal >= sick
    n = int(matrix.sum())
    n_sick = int(matrix[sick].sum())
    notes = accuracy(result)
    notes.append(f"{int(matrix[normal].sum())} of the {n} test slices are "
                 f"'{result.classes[normal]}': a model that always answers "
                 f"'{result.classes[normal]}' would score {pct(matrix[normal].sum() / n)} without "
                 f"looking at a single image.")
    if n_sick:
        found = int(matrix[sick, sick])
        share = found / n_sick
        verdict = ("it missed every one" if found == 0 else "it missed almost all of them" if share <= 0.2
                   else "it found most of them" if share >= 0.6 else "it missed many of them")
        notes.append(f"Of the {n_sick} test slices with '{result.classes[sick]}' it flagged {found} "
                     f"({pct(share)}): {verdict}.")
    return notes


def _gap_words(gap: float) -> str:
    """The training accuracy minus the test accuracy, in words."""
    if gap > 0.02:
        return f"a gap of {100 * gap:.0f} percentage points."
    if gap < -0.02:
        return (f"the test slices did better, by {-100 * gap:.0f} percentage points (a small test set "
                f"can do that by chance).")
    return "almost no gap."


CLEAR_RISE = 0.05  # a test loss this far above its lowest (as a share of it) is clearly rising


def overfitting(result) -> Notes:
    """Lesson 4: the gap between training and test accuracy, and the test loss turning upward."""
    train_acc, test_acc = final(result, "accuracy"), final(result, "test_accuracy")
    losses = result.history["test_loss"]
    best, epochs = int(np.argmin(losses)), len(losses)
    rise = loss_rise(result)
    gap = train_acc - test_acc
    notes = Notes([
        f"In the last epoch the model was right on {pct(train_acc)} of its training slices and "
        f"{pct(test_acc)} of its test slices: {_gap_words(gap)}"
    ])
    if best < epochs - 1 and rise > CLEAR_RISE:
        notes.append(f"The test loss was lowest after epoch {best + 1} of {epochs} and then rose by "
                     f"{pct(rise)}: from there on the model learned its training slices by heart, "
                     f"which made it more confidently wrong on new ones.")
    elif best < min(epochs - 1, epochs * 0.8) and gap > 0.05:
        above = "within 1% of" if rise < 0.005 else f"{pct(rise)} above"
        notes.append(f"The test loss stopped improving after epoch {best + 1} of {epochs} and ended "
                     f"{above} that lowest value: flat, not yet clearly rising. So far the gap "
                     f"between the two accuracies is the clearer sign of overfitting.")
    else:
        notes.append(f"The test loss was still close to its lowest at the end (lowest after epoch "
                     f"{best + 1} of {epochs}): no clear sign of overfitting in this run.")
    return notes


def reruns(results: dict) -> Notes:
    """Lesson 1: the same recipe trained with different seeds; the spread and the average."""
    values = {label: final(result, "test_accuracy") for label, result in results.items()}
    spread = max(values.values()) - min(values.values())
    notes = Notes([f"{len(values)} runs of the same recipe on the same slices (each run with its own random "
                   f"test set, starting weights and batch order) gave test accuracies of "
                   f"{join([pct(v) for v in values.values()])} ({join(list(values))})."])
    if spread >= 0.03:
        notes.append(f"That is a spread of {100 * spread:.0f} percentage points from chance alone: "
                     f"one run's accuracy is one draw, not a property of the recipe.")
    else:
        notes.append(f"They lie within {100 * spread:.0f} percentage points of each other: this time "
                     f"chance changed little, but on a test set this small it often does.")
    notes.append(f"Their average, {pct(float(np.mean(list(values.values()))))}, says more about the "
                 f"recipe than any single run.")
    return notes


def retest(result, again: list[float]) -> Notes:
    """Lesson 1: testing a finished model again gives the same accuracy (``again``: its re-tests)."""
    reported = final(result, "test_accuracy")
    words = join([pct(v) for v in again])
    if max(again) - min(again) < 1e-9 and abs(again[0] - reported) < 1e-6:
        return Notes([f"Testing the same model again gave {words}: identical to each other and to the "
                      f"{pct(reported)} it reported after its last epoch. A finished model is a fixed "
                      f"calculation; chance only enters while it is trained."])
    return Notes([f"Testing the same model again gave {words}, but it reported {pct(reported)} after "
                  f"training. They should be identical: please tell an instructor."])


def thresholds(result, levels=(0.5, 0.1), positive=None) -> Notes:
    """Lesson 2: bleeds found and false alarms raised at each decision threshold in ``levels``."""
    notes = Notes()
    for level in levels:
        m = evaluation.result_metrics(result, positive, threshold=level)
        notes.append(f"Calling a slice hemorrhage from a probability of {threshold_pct(level)}: it flags "
                     f"{m.tp} of the {m.tp + m.fn} hemorrhage slices (sensitivity "
                     f"{pct(m.sensitivity.estimate)}) and raises {count(m.fp, 'false alarm')} among the "
                     f"{m.tn + m.fp} normal ones (specificity {pct(m.specificity.estimate)}).")
    return notes


def prevalence(result, positive=None, ed_prevalence: float = evaluation.ED_PREVALENCE) -> Notes:
    """Going further: the same model's PPV at the test set's prevalence and in an emergency department."""
    m = evaluation.result_metrics(result, positive)
    sens, spec = m.sensitivity.estimate, m.specificity.estimate
    here = float(evaluation.ppv_at_prevalence(sens, spec, m.prevalence))
    there = float(evaluation.ppv_at_prevalence(sens, spec, ed_prevalence))
    low, high = (float(evaluation.ppv_at_prevalence(m.sensitivity.low, m.specificity.low, ed_prevalence)),
                 float(evaluation.ppv_at_prevalence(m.sensitivity.high, m.specificity.high, ed_prevalence)))
    return Notes([
        f"With sensitivity {pct(sens)} and specificity {pct(spec)}, a 'hemorrhage' flag is right "
        f"{pct(here)} of the time at the test set's prevalence ({pct(m.prevalence)}).",
        f"At {pct(ed_prevalence)} prevalence, as in an emergency department, the same model's flag is "
        f"right only {pct(there)} of the time: {pct(1 - there)} of its flags would be false alarms. "
        f"Within the 95% intervals of its sensitivity and specificity, that share of right flags could "
        f"be anywhere from {pct(low)} to {pct(high)}.",
    ])


def exam_level(result, slices: tuple[int, ...] = (10, 30)) -> Notes:
    """Going further: what a slice-level specificity means for whole exams of many slices."""
    m = evaluation.result_metrics(result)
    spec = m.specificity.estimate
    notes = Notes([f"The model cleared {pct(spec)} of the normal test slices: {pct(1 - spec)} of normal "
                   f"slices get a false hemorrhage flag."])
    for k in slices:
        rate = float(evaluation.exam_false_alarm_rate(spec, k))
        share = "more than 99%" if rate > 0.995 else pct(rate)  # never "100%": it is not certain
        notes.append(f"An exam of {k} normal slices, each read with that specificity, would get at least "
                     f"one false flag {share} of the time if the slices were independent.")
    notes.append("Neighbouring slices are alike, so the true exam-level rate is lower than that, but it "
                 "still grows with the number of slices: slice-level sensitivity and specificity are not "
                 "exam-level figures, and a vendor's claim should say which it is.")
    return notes
