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
    """Sentences shown as a bulleted "What to notice" list (Markdown in Jupyter, text elsewhere).

    ``notes_a + notes_b`` is one list of both.
    """

    def __add__(self, other) -> "Notes":
        return Notes(list(self) + list(other))

    def _repr_markdown_(self) -> str:
        return "**What to notice**\n\n" + "\n".join(f"- {line}" for line in self)

    def __str__(self) -> str:
        return "What to notice:\n" + "\n".join(f"- {line}" for line in self)


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


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
        f"{_pct(right / n)} (95% confidence interval {_pct(interval.low)} to {_pct(interval.high)})."
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
        notes.append(f"Of the {n} test slices that really are '{name}', it called {right} "
                     f"'{name}' ({_pct(right / n)}).")
    return notes


def small_data(result) -> Notes:
    """Lesson 1: a tiny test set makes accuracy coarse and uncertain."""
    _, n, interval = _test_accuracy(result)
    chance = 1 / len(result.classes)
    notes = accuracy(result)
    notes.append(f"With only {n} test slices, each slice moves the accuracy by "
                 f"{100 / n:.0f} percentage points.")
    if interval.high < chance:
        notes.append(f"Even the top of the interval ({_pct(interval.high)}) is below a coin flip "
                     f"({_pct(chance)}): on these test slices the model did worse than guessing.")
    elif interval.low <= chance:
        notes.append(f"The interval includes {_pct(chance)}, the score of a coin flip: this test "
                     f"cannot show that the model is better than guessing.")
    else:
        notes.append(f"Even the low end of the interval ({_pct(interval.low)}) is above a coin flip "
                     f"({_pct(chance)}), but the interval is {100 * (interval.high - interval.low):.0f} "
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
                 f"'{result.classes[normal]}' would score {_pct(matrix[normal].sum() / n)} without "
                 f"looking at a single image.")
    if n_sick:
        found = int(matrix[sick, sick])
        share = found / n_sick
        verdict = ("it missed almost all of them" if share <= 0.2
                   else "it found most of them" if share >= 0.6 else "it missed many of them")
        notes.append(f"Of the {n_sick} test slices with '{result.classes[sick]}' it flagged {found} "
                     f"({_pct(share)}): {verdict}.")
    return notes


def overfitting(result) -> Notes:
    """Lesson 4: the gap between training and test accuracy, and the test loss turning upward."""
    train_acc, test_acc = final(result, "accuracy"), final(result, "test_accuracy")
    losses = result.history["test_loss"]
    best, epochs = int(np.argmin(losses)), len(losses)
    rise = loss_rise(result)
    gap = train_acc - test_acc
    notes = Notes([
        f"In the last epoch the model was right on {_pct(train_acc)} of its training slices and "
        f"{_pct(test_acc)} of its test slices: "
        + (f"a gap of {100 * gap:.0f} percentage points." if gap > 0.02 else "almost no gap.")
    ])
    if best < epochs - 1 and rise > 0.05:
        notes.append(f"The test loss was lowest after epoch {best + 1} of {epochs} and then rose by "
                     f"{_pct(rise)}: from there on the model learned its training slices by heart, "
                     f"which made it more confidently wrong on new ones.")
    else:
        notes.append(f"The test loss was still close to its lowest at the end (lowest after epoch "
                     f"{best + 1} of {epochs}): no clear sign of overfitting in this run.")
    return notes


def compare(results: dict, metric: str = "test_accuracy") -> Notes:
    """Side by side: the final ``metric`` of several labelled results, and which did better.

    >>> compare({"grayscale": gray, "colour-coded": color})   # doctest: +SKIP
    """
    if len(results) < 2:
        raise ValueError(f"compare needs at least two labelled results, got {len(results)}.")
    values = {label: final(result, metric) for label, result in results.items()}
    word = metric.replace("_", " ")
    notes = Notes([", ".join(f"{label}: {word} {_pct(v)}" for label, v in values.items()) + "."])
    ranked = sorted(values, key=values.get, reverse=True)
    first, last = ranked[0], ranked[-1]
    difference = values[first] - values[last]
    if difference < 0.03:
        notes.append(f"The difference ({_count(round(100 * difference), 'point')}) is within what a rerun with "
                     f"another seed could change: call it a tie.")
    else:
        notes.append(f"{first} beat {last} by {100 * difference:.0f} percentage points.")
    return notes


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def reruns(results: dict) -> Notes:
    """Lesson 1: the same recipe trained with different seeds; the spread and the average."""
    values = {label: final(result, "test_accuracy") for label, result in results.items()}
    spread = max(values.values()) - min(values.values())
    notes = Notes([f"{len(values)} runs of the same recipe on the same slices gave test accuracies of "
                   f"{_join([_pct(v) for v in values.values()])} ({_join(list(values))})."])
    if spread >= 0.03:
        notes.append(f"That is a spread of {100 * spread:.0f} percentage points from chance alone: "
                     f"one run's accuracy is one draw, not a property of the recipe.")
    else:
        notes.append(f"They lie within {100 * spread:.0f} percentage points of each other: this time "
                     f"chance changed little, but on a test set this small it often does.")
    notes.append(f"Their average, {_pct(float(np.mean(list(values.values()))))}, says more about the "
                 f"recipe than any single run.")
    return notes


def retest(result, again: list[float]) -> Notes:
    """Lesson 1: testing a finished model again gives the same accuracy (``again``: its re-tests)."""
    reported = final(result, "test_accuracy")
    words = _join([_pct(v) for v in again])
    if max(again) - min(again) < 1e-9 and abs(again[0] - reported) < 1e-6:
        return Notes([f"Testing the same model again gave {words}: identical to each other and to the "
                      f"{_pct(reported)} it reported after its last epoch. A finished model is a fixed "
                      f"calculation; chance only enters while it is trained."])
    return Notes([f"Testing the same model again gave {words}, but it reported {_pct(reported)} after "
                  f"training. They should be identical: please tell an instructor."])


def thresholds(result, levels=(0.5, 0.1), positive=None) -> Notes:
    """Lesson 2: bleeds found and false alarms raised at each decision threshold in ``levels``."""
    notes = Notes()
    for level in levels:
        m = evaluation.result_metrics(result, positive, threshold=level)
        notes.append(f"Calling a slice hemorrhage from a probability of {_pct(level)}: it flags "
                     f"{m.tp} of the {m.tp + m.fn} hemorrhage slices (sensitivity "
                     f"{_pct(m.sensitivity.estimate)}) and raises {_count(m.fp, 'false alarm')} among the "
                     f"{m.tn + m.fp} normal ones (specificity {_pct(m.specificity.estimate)}).")
    return notes


def tradeoff(results: dict, positive=None) -> Notes:
    """Lessons 3 and 5: accuracy against bleeds found, for several labelled two-class results."""
    rows = {label: (final(r, "test_accuracy"), evaluation.result_metrics(r, positive))
            for label, r in results.items()}
    notes = Notes([f"{label}: test accuracy {_pct(acc)}; found {m.tp} of {m.tp + m.fn} hemorrhage "
                   f"slices (sensitivity {_pct(m.sensitivity.estimate)}); cleared {m.tn} of "
                   f"{m.tn + m.fp} normal ones (specificity {_pct(m.specificity.estimate)})."
                   for label, (acc, m) in rows.items()])
    top = max(acc for acc, _ in rows.values())
    most_accurate = [label for label, (acc, _) in rows.items() if acc > top - 0.005]
    best_finder = max(rows, key=lambda label: rows[label][1].sensitivity.estimate)
    if best_finder not in most_accurate:
        notes.append(f"{most_accurate[0]} has the higher accuracy, yet {best_finder} finds more of the "
                     f"bleeds: accuracy alone would have picked the wrong model.")
    elif len(most_accurate) > 1:
        notes.append(f"{_join(most_accurate)} share the highest accuracy ({_pct(top)}); {best_finder} "
                     f"finds the most bleeds.")
    else:
        notes.append(f"{best_finder} is ahead on both: the higher accuracy and the most bleeds found.")
    return notes


def longer_training(results: dict) -> Notes:
    """Lesson 4: from one labelled result to the next, the train-test gap and the test loss's rise."""
    (first, a), (last, b) = list(results.items())[0], list(results.items())[-1]
    gap_a, gap_b = (final(r, "accuracy") - final(r, "test_accuracy") for r in (a, b))
    rise_a, rise_b = loss_rise(a), loss_rise(b)
    gap_word = "widened" if gap_b > gap_a + 0.01 else "narrowed" if gap_b < gap_a - 0.01 else "stayed about the same"
    rise_word = ("rose further" if rise_b > rise_a + 0.05
                 else "came back down" if rise_b < rise_a - 0.05 else "stayed about as high")
    return Notes([
        f"The gap between training and test accuracy {gap_word}: {100 * gap_a:.0f} percentage points "
        f"with {first}, {100 * gap_b:.0f} with {last}.",
        f"The test loss {rise_word}: it ended {_pct(rise_a)} above its lowest value with {first} and "
        f"{_pct(rise_b)} above it with {last}.",
    ])


def prevalence(result, positive=None, ed_prevalence: float = evaluation.ED_PREVALENCE) -> Notes:
    """Going further: the same model's PPV at the test set's prevalence and in an emergency department."""
    m = evaluation.result_metrics(result, positive)
    sens, spec = m.sensitivity.estimate, m.specificity.estimate
    here = float(evaluation.ppv_at_prevalence(sens, spec, m.prevalence))
    there = float(evaluation.ppv_at_prevalence(sens, spec, ed_prevalence))
    false_share = 1 - there
    return Notes([
        f"With sensitivity {_pct(sens)} and specificity {_pct(spec)}, a 'hemorrhage' flag is right "
        f"{_pct(here)} of the time at the test set's prevalence ({_pct(m.prevalence)}).",
        f"At {_pct(ed_prevalence)} prevalence, as in an emergency department, the same model's flag is "
        f"right only {_pct(there)} of the time: {_pct(false_share)} of its flags would be false alarms.",
    ])
