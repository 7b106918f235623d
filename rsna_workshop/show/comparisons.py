"""Sentences that compare models, and our run with the original workshop, only as far as the data allows.

A sentence says "better" or "worse" only when a test supports it at the 5 % level: McNemar's exact
test for two models on the same test slices, Fisher's exact test for different slices (see
:mod:`rsna_workshop.evaluation.compare`). Otherwise it says the test slices cannot tell them apart,
and how many slices there were.

>>> compare({"grayscale": gray, "colour-coded": color})          # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .. import evaluation
from ..evaluation import compare_counts, compare_results, final, loss_rise
from ..errors import SettingsError
from .narration import CLEAR_RISE, Notes, count, interval, pct

COUNTED = {"accuracy": "test slices", "sensitivity": "hemorrhage slices", "specificity": "normal slices"}
ORIGINAL_TITLE = "In the original workshop (real RSNA images, Teachable Machine)"


def p_text(p: float) -> str:
    """'p = 0.04', 'p < 0.001'."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2f}" if p >= 0.01 else f"p = {p:.3f}"


def points(difference: float) -> str:
    """A difference of proportions in percentage points, with its sign: '+7', '-12', '0'."""
    value = round(100 * difference)
    return f"{value:+d}" if value else "0"


def verdict_sentence(label_a: str, label_b: str, c: evaluation.Comparison) -> str:
    """One sentence: the evidence for A against B on one measure, and what it supports."""
    what = COUNTED[c.measure]
    if c.paired:
        evidence = (f"On the same {c.a.n} {what}, {label_a} was right on {count(c.a_only, 'slice')} that "
                    f"{label_b} got wrong, and {label_b} on {c.b_only} that {label_a} got wrong "
                    f"(McNemar exact test, {p_text(c.p_value)})")
    else:
        evidence = (f"{label_a} {pct(c.a.estimate)} of {c.a.n} and {label_b} {pct(c.b.estimate)} of "
                    f"{c.b.n} {what}: a difference of {points(c.difference)} points (95% CI "
                    f"{points(c.low)} to {points(c.high)}; Fisher exact test, {p_text(c.p_value)})")
    if c.verdict == "better":
        return f"{evidence}: {label_a} is better on {c.measure}."
    if c.verdict == "worse":
        return f"{evidence}: {label_b} is better on {c.measure}."
    return f"{evidence}: on these {what} the two cannot be told apart on {c.measure}."


def compare(results: dict, measure: str = "accuracy") -> Notes:
    """Each labelled model against the first, on one measure (paired where the test slices agree).

    A value of ``results`` may be a list of results (one per seed): then each seed is compared
    with the same seed of the first label, and the sentence says in how many seeds the data
    support a difference.
    """
    if len(results) < 2:
        raise SettingsError(f"compare needs at least two labelled results, got {len(results)}.")
    runs = {label: value if isinstance(value, (list, tuple)) else [value] for label, value in results.items()}
    if len({len(r) for r in runs.values()}) != 1:
        raise SettingsError("compare needs the same number of runs (seeds) for every label.")
    labels = list(runs)
    notes = Notes([_values_line(label, runs[label], measure) for label in labels])
    reference = labels[0]
    for label in labels[1:]:
        pairs = [compare_results(a, b, measure) for a, b in zip(runs[label], runs[reference])]
        notes.append(verdict_sentence(label, reference, pairs[0]) if len(pairs) == 1
                     else _over_seeds(label, reference, pairs))
    return notes


def _values_line(label: str, results: list, measure: str) -> str:
    shown = [evaluation.proportion(r, measure) for r in results]
    if len(shown) == 1:
        return f"{label}: {measure} {interval(shown[0])}."
    values = [s.estimate for s in shown]
    return (f"{label}: {measure} {pct(float(np.mean(values)))} on average over {len(values)} seeds "
            f"(from {pct(min(values))} to {pct(max(values))}, about {shown[0].n} {COUNTED[measure]} each).")


def _over_seeds(label: str, reference: str, pairs: list) -> str:
    verdicts = [c.verdict for c in pairs]
    differences = [c.difference for c in pairs]
    spread = f"differences from {points(min(differences))} to {points(max(differences))} points"
    tally = (f"over {len(pairs)} seeds, the paired test found {label} better in {verdicts.count('better')}, "
             f"worse in {verdicts.count('worse')} and could not tell them apart in "
             f"{verdicts.count('cannot tell apart')} ({spread})")
    if verdicts.count("better") == len(pairs):
        return f"Against {reference}, {tally}: {label} is better on {pairs[0].measure} in every seed."
    if verdicts.count("worse") == len(pairs):
        return f"Against {reference}, {tally}: {label} is worse on {pairs[0].measure} in every seed."
    return f"Against {reference}, {tally}: no difference the seeds agree on."


def tradeoff(results: dict) -> Notes:
    """Lessons 3 and 5: accuracy against bleeds found, each labelled two-class model against the first."""
    notes = Notes()
    for label, result in results.items():
        m = evaluation.result_metrics(result)
        notes.append(f"{label}: test accuracy {pct(final(result, 'test_accuracy'))}; found {m.tp} of "
                     f"{m.tp + m.fn} hemorrhage slices (sensitivity {pct(m.sensitivity.estimate)}); "
                     f"cleared {m.tn} of {m.tn + m.fp} normal ones "
                     f"(specificity {pct(m.specificity.estimate)}).")
    labels = list(results)
    first = labels[0]
    for label in labels[1:]:
        accuracy = compare_results(results[label], results[first], "accuracy")
        found = compare_results(results[label], results[first], "sensitivity")
        notes += [verdict_sentence(label, first, accuracy), verdict_sentence(label, first, found)]
        if {accuracy.verdict, found.verdict} == {"better", "worse"}:
            higher, finder = (first, label) if found.verdict == "better" else (label, first)
            notes.append(f"{higher} has the higher accuracy, yet {finder} finds more of the bleeds: "
                         f"accuracy alone would have picked the wrong model.")
    return notes


def optimism(label_a: str, a, label_b: str, b) -> Notes:
    """Two evaluations of the same kind of model (e.g. split by slice against split by patient, or
    held-out slices during development against a locked test set): is the first optimistic?"""
    c = compare_results(a, b, "accuracy")
    notes = Notes([f"{label_a}: accuracy {interval(c.a)}.", f"{label_b}: accuracy {interval(c.b)}."])
    span = f"95% CI {points(c.low)} to {points(c.high)} points" if c.low is not None else p_text(c.p_value)
    if c.verdict == "better":
        notes.append(f"{label_a} is {points(c.difference)[1:]} points higher, more than chance explains ({span}; "
                     f"{p_text(c.p_value)}): the figure for {label_a} is optimistic.")
    elif c.verdict == "worse":
        notes.append(f"{label_a} is {points(c.difference)[1:]} points lower, more than chance explains "
                     f"({span}; {p_text(c.p_value)}).")
    else:
        notes.append(f"The difference, {points(c.difference)} points, is within chance ({span}; "
                     f"{p_text(c.p_value)}): no difference can be seen here, though one up to the "
                     f"ends of that interval is not ruled out.")
    return notes


def longer_training(results: dict) -> Notes:
    """Lesson 4: from one labelled result to the next (same slices), the gap between training and
    test accuracy, the test loss's rise, and whether test accuracy really changed."""
    (first, a), (last, b) = list(results.items())[0], list(results.items())[-1]
    gap_a, gap_b = (final(r, "accuracy") - final(r, "test_accuracy") for r in (a, b))
    rise_a, rise_b = loss_rise(a), loss_rise(b)
    rise_word = ("rose" if rise_a <= CLEAR_RISE < rise_b else "rose further" if rise_b > rise_a + 0.05
                 else "came back down" if rise_b < rise_a - 0.05 else "stayed about as high")
    return Notes([
        f"Training accuracy went from {pct(final(a, 'accuracy'))} with {first} to "
        f"{pct(final(b, 'accuracy'))} with {last}; the gap to test accuracy went from "
        f"{100 * gap_a:.0f} to {100 * gap_b:.0f} percentage points.",
        verdict_sentence(last, first, compare_results(b, a, "accuracy")),
        f"The test loss {rise_word}: it ended {pct(rise_a)} above its lowest value with {first} and "
        f"{pct(rise_b)} above it with {last}.",
    ])


def against_original(result, original, reruns: list | None = None) -> Notes:
    """The original workshop's published figures beside this run, and whether they agree.

    ``original`` carries ``what`` (the experiment), ``accuracy`` and optionally ``found`` as
    ``(right, n)`` counts, ``train_accuracy``, a ``note`` and ``published`` (the rounded accuracy the
    original showed, when its counts are read back from it); ``reruns`` are further runs of the same
    recipe (other seeds), whose range is shown.
    """
    ours = evaluation.proportion(result, "accuracy")
    theirs = evaluation.wilson_interval(*original.accuracy)
    found_there = f"; found {original.found[0]} of {original.found[1]} hemorrhages" if original.found else ""
    accuracy = (f"published as {original.published}, read here as {theirs.successes} of {theirs.n}, "
                f"a count of its test set that rounds to it (95% CI {pct(theirs.low)} to {pct(theirs.high)})"
                if original.published else interval(theirs))
    notes = Notes([f"{original.what}: accuracy {accuracy}{found_there}"
                   + (f"; {original.note}" if original.note else "") + "."], ORIGINAL_TITLE)
    found = None
    if original.found and len(result.classes) == 2:
        found = evaluation.proportion(result, "sensitivity")
    training = (f"; training accuracy {pct(final(result, 'accuracy'))}, the test loss ending "
                f"{pct(loss_rise(result))} above its lowest" if original.train_accuracy else "")
    notes.append(f"Your run: accuracy {interval(ours)}"
                 + (f"; found {found.successes} of {found.n} hemorrhages" if found else "")
                 + training + (_range(result, reruns) if reruns else "") + ".")
    notes.append(_agreement("accuracy", compare_counts(ours.successes, ours.n, *original.accuracy),
                            ("finds them easier", "finds them harder")))
    if found:
        notes.append(_agreement("share of hemorrhages found",
                                compare_counts(found.successes, found.n, *original.found),
                                ("flags more of their bleeds", "flags fewer of their bleeds")))
    return notes


def _range(result, reruns: list) -> str:
    values = [final(r, "test_accuracy") for r in [result, *reruns]]
    return f"; over {len(values)} seeds the accuracy ranged from {pct(min(values))} to {pct(max(values))}"


def _agreement(what: str, c: evaluation.Comparison, meaning: tuple[str, str]) -> str:
    """Whether ``what`` agrees with the original's; ``meaning`` says what a higher and a lower
    figure mean for this model on the synthetic slices."""
    span = f"{points(c.low)} to {points(c.high)} points"
    if c.verdict == "cannot tell apart":
        return (f"Your {what} and the original's agree within the noise: the difference, "
                f"{points(c.difference)} points, is within what test sets of {c.a.n} and {c.b.n} slices "
                f"give by chance (95% CI of the difference {span}; Fisher exact test, {p_text(c.p_value)}).")
    direction = "higher" if c.difference > 0 else "lower"
    return (f"Your {what} is {direction} than the original's by {points(c.difference)[1:]} points, "
            f"more than chance explains (95% CI {span}; Fisher exact test, {p_text(c.p_value)}): the "
            f"synthetic slices are not the real ones, and this model {meaning[c.difference < 0]}.")

