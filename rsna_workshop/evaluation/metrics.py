"""Honest metrics on plain arrays: sensitivity, specificity, PPV and NPV with Wilson 95 % CIs, ROC.

Every function takes true labels, scores or class probabilities and class names.

>>> m = binary_metrics([1, 1, 0, 0], [0.9, 0.4, 0.2, 0.1])
>>> m.tp, m.fn, m.tn, m.fp, round(m.sensitivity.estimate, 2)
(1, 1, 2, 0, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import SettingsError

ED_PREVALENCE = 0.06
"""Prevalence of acute intracranial hemorrhage among emergency non-contrast head CTs.

Abrigo et al. (Hong Kong Medical Journal 2023;29(2):112) tested a hemorrhage detector meant for
the emergency department on 1,372 head CTs from their hospital: 84 (6.1 %) had a bleed. Counting
spontaneous (non-traumatic) bleeds only, a study of 7,797 consecutive head CTs from ten emergency
rooms (Scientific Reports 2025, doi:10.1038/s41598-025-15835-7) found 118 (1.5 %). We take 6 % as
a realistic emergency-department figure; the workshop's balanced test sets have 50 %.
"""

@dataclass(frozen=True)
class Interval:
    """A proportion with its confidence interval."""

    estimate: float
    low: float
    high: float
    successes: int
    n: int
    confidence: float = 0.95

    def __str__(self) -> str:
        if self.n == 0:
            return "n/a (no cases)"
        return (f"{self.estimate:.1%} ({self.confidence:.0%} CI {self.low:.1%}-{self.high:.1%}; "
                f"{self.successes}/{self.n})")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a proportion: honest even at 0/n, n/n and small n.

    >>> i = wilson_interval(8, 10)
    >>> round(i.low, 4), round(i.high, 4)
    (0.4902, 0.9433)
    """
    if not 0 < confidence < 1:
        raise SettingsError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}.")
    if n < 0 or successes < 0 or successes > n:
        raise SettingsError(f"Need 0 <= successes <= n, got successes={successes}, n={n}.")
    if n == 0:
        return Interval(float("nan"), 0.0, 1.0, 0, 0, confidence)
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else float(centre - half)
    high = 1.0 if successes == n else float(centre + half)
    return Interval(p, low, high, int(successes), int(n), confidence)


@dataclass(frozen=True)
class BinaryMetrics:
    """Counts and metrics of a yes/no decision; proportions carry Wilson 95 % CIs."""

    tp: int
    fp: int
    tn: int
    fn: int
    threshold: float
    sensitivity: Interval
    specificity: Interval
    ppv: Interval
    npv: Interval
    accuracy: float
    balanced_accuracy: float

    @property
    def prevalence(self) -> float:
        """Share of positives among the cases evaluated."""
        return (self.tp + self.fn) / max(1, self.tp + self.fp + self.tn + self.fn)

    @property
    def confusion_matrix(self) -> np.ndarray:
        """2x2 counts, rows true (negative, positive), columns predicted (negative, positive)."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])

    def rows(self) -> list[tuple[str, Interval]]:
        """(name, interval) for the four proportions a radiologist asks for."""
        return [
            ("Sensitivity", self.sensitivity),
            ("Specificity", self.specificity),
            ("PPV", self.ppv),
            ("NPV", self.npv),
        ]


def as_binary(y_true, positive=1) -> np.ndarray:
    """Boolean array: True where ``y_true`` equals the ``positive`` label."""
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or len(y_true) == 0:
        raise SettingsError(
            f"y_true must be a non-empty 1-D array of labels, got shape {y_true.shape}.")
    return y_true == positive


def binary_metrics(y_true, y_score, positive=1, threshold: float = 0.5) -> BinaryMetrics:
    """Sensitivity, specificity, PPV, NPV (Wilson 95 % CIs), accuracy and balanced accuracy.

    ``y_score`` holds the score of the positive class per case, or 0/1 predictions; a case is
    called positive when its score is at least ``threshold``. ``positive`` is the label in
    ``y_true`` that means "disease present".
    """
    truth = as_binary(y_true, positive)
    score = np.asarray(y_score, dtype=float)
    if score.shape != truth.shape:
        raise SettingsError(
            f"y_true has {truth.shape[0]} cases but y_score has shape {score.shape}: pass one "
            f"score per case (for class probabilities, the column of the positive class)."
        )
    called = score >= threshold
    tp = int(np.sum(truth & called))
    fn = int(np.sum(truth & ~called))
    tn = int(np.sum(~truth & ~called))
    fp = int(np.sum(~truth & called))
    sensitivity = wilson_interval(tp, tp + fn)
    specificity = wilson_interval(tn, tn + fp)
    return BinaryMetrics(
        tp=tp, fp=fp, tn=tn, fn=fn, threshold=float(threshold),
        sensitivity=sensitivity,
        specificity=specificity,
        ppv=wilson_interval(tp, tp + fp),
        npv=wilson_interval(tn, tn + fn),
        accuracy=(tp + tn) / len(truth),
        balanced_accuracy=float(np.nanmean([sensitivity.estimate, specificity.estimate])),
    )


@dataclass(frozen=True)
class Roc:
    """Receiver operating characteristic: a point per distinct threshold, and the area under it."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    n_pos: int
    n_neg: int

    def auc_interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Approximate confidence interval of the AUC from Hanley and McNeil's standard error
        (Radiology 1982), clipped to [0, 1]: wide when either class has few cases.

        >>> r = Roc(None, None, None, 0.8, 50, 50)
        >>> [round(v, 3) for v in r.auc_interval()]
        [0.713, 0.887]
        """
        a = self.auc
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        variance = (a * (1 - a) + (self.n_pos - 1) * (q1 - a * a)
                    + (self.n_neg - 1) * (q2 - a * a)) / (self.n_pos * self.n_neg)
        half = float(stats.norm.ppf(0.5 + confidence / 2)) * np.sqrt(max(variance, 0.0))
        return max(0.0, float(a - half)), min(1.0, float(a + half))


def roc(y_true, y_score, positive=1) -> Roc:
    """ROC curve and AUC (ties handled as scikit-learn's ``roc_curve``/``roc_auc_score`` do).

    Thresholds fall from ``inf`` (nobody called positive) to the lowest score (everybody).
    """
    truth = as_binary(y_true, positive)
    score = np.asarray(y_score, dtype=float)
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if n_pos == 0 or n_neg == 0:
        raise SettingsError(
            f"ROC needs both classes among the cases: got {n_pos} positive and {n_neg} negative."
        )
    order = np.argsort(-score, kind="mergesort")
    score, truth = score[order], truth[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(truth)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    tpr = np.r_[0.0, tps / n_pos]
    fpr = np.r_[0.0, fps / n_neg]
    thresholds = np.r_[np.inf, score[last_of_tie]]
    return Roc(fpr, tpr, thresholds, float(np.trapezoid(tpr, fpr)), n_pos, n_neg)


def ppv_at_prevalence(sensitivity, specificity, prevalence):
    """Positive predictive value of a test with this sensitivity and specificity at a prevalence.

    Bayes' rule: PPV = sens * prev / (sens * prev + (1 - spec) * (1 - prev)). Arrays broadcast.
    See :data:`ED_PREVALENCE` for a realistic emergency-department prevalence.

    >>> round(float(ppv_at_prevalence(0.9, 0.9, 0.5)), 3)
    0.9
    >>> round(float(ppv_at_prevalence(0.9, 0.9, ED_PREVALENCE)), 3)
    0.365
    """
    sens, spec, prev = (np.asarray(v, dtype=float) for v in (sensitivity, specificity, prevalence))
    for name, value in (("sensitivity", sens), ("specificity", spec), ("prevalence", prev)):
        if np.any((value < 0) | (value > 1)):
            raise SettingsError(f"{name} must lie between 0 and 1 (a proportion, not a percentage).")
    true_pos = sens * prev
    false_pos = (1 - spec) * (1 - prev)
    with np.errstate(invalid="ignore", divide="ignore"):
        return true_pos / (true_pos + false_pos)


def exam_false_alarm_rate(specificity, slices):
    """Share of normal exams with at least one falsely flagged slice, if each of ``slices`` slices
    were called independently with this slice-level ``specificity``: ``1 - specificity ** slices``.

    Neighbouring slices are not independent, so real exam-level rates are lower, but they grow with
    the number of slices all the same: slice-level figures are not exam-level figures.

    >>> round(float(exam_false_alarm_rate(0.95, 30)), 2)
    0.79
    """
    specificity = np.asarray(specificity, dtype=float)
    if np.any((specificity < 0) | (specificity > 1)):
        raise SettingsError("specificity must lie between 0 and 1 (a proportion, not a percentage).")
    return 1 - specificity ** np.asarray(slices)


def npv_at_prevalence(sensitivity, specificity, prevalence):
    """Negative predictive value at a prevalence (Bayes' rule, as :func:`ppv_at_prevalence`)."""
    return ppv_at_prevalence(specificity, sensitivity, 1 - np.asarray(prevalence, dtype=float))


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts, rows true class, columns predicted class, for class indices ``0..n_classes-1``."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Share of each true class predicted correctly (Teachable Machine's "accuracy per class").

    NaN for a class with no test cases.
    """
    matrix = np.asarray(matrix)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(matrix) / matrix.sum(axis=1)


def positive_index(classes, positive) -> int:
    """Index in ``classes`` of the class that means "disease present" (a name or an index).

    The class is declared on the data set (``Dataset.positive``) and carried by its results;
    there is no guessing here.
    """
    classes = list(classes)
    if isinstance(positive, (int, np.integer)) and not isinstance(positive, bool) and 0 <= positive < len(classes):
        return int(positive)
    if positive in classes:
        return classes.index(positive)
    if positive is None:
        raise SettingsError(f"No positive class is declared among {classes}: say which class means "
                            f"'disease present', e.g. positive={classes[-1]!r}.")
    raise SettingsError(f"positive={positive!r} is not one of the classes {classes} nor an index.")
