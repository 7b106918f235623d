"""Can the data tell two models apart? Paired tests on the same test slices, unpaired otherwise.

Two models scored on the same test slices are compared slice by slice: only the slices one got
right and the other wrong carry information, and McNemar's exact test asks whether those split
more unevenly than a coin would. Models scored on different slices (two lessons with different
data, or our run against the original workshop's published figures) are compared as two
independent proportions: Fisher's exact test, and Newcombe's interval for the difference.

>>> c = compare_counts(6, 10, 18, 30)          # the original's 6/10 against our 18/30
>>> c.verdict, round(c.p_value, 2)
('cannot tell apart', 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import SettingsError
from .metrics import Interval, wilson_interval
from .results import result_arrays, result_positive

ALPHA = 0.05
MEASURES = ("accuracy", "sensitivity", "specificity")


@dataclass(frozen=True)
class Comparison:
    """A proportion of model A against the same proportion of model B.

    ``paired`` comparisons (the same test slices) carry ``a_only`` and ``b_only``: the slices only
    A, or only B, got right. Unpaired ones carry Newcombe's 95 % interval of the difference
    (``low``, ``high``).
    """

    measure: str
    a: Interval
    b: Interval
    p_value: float
    paired: bool
    a_only: int | None = None
    b_only: int | None = None
    low: float | None = None
    high: float | None = None

    @property
    def difference(self) -> float:
        """A's proportion minus B's."""
        return self.a.estimate - self.b.estimate

    @property
    def verdict(self) -> str:
        """``"better"`` or ``"worse"`` (A against B) when the test supports it at 5 %, else
        ``"cannot tell apart"``."""
        if self.p_value >= ALPHA or self.difference == 0:
            return "cannot tell apart"
        return "better" if self.difference > 0 else "worse"


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts.

    >>> round(mcnemar_exact(10, 2), 4)
    0.0386
    """
    n = a_only + b_only
    if n == 0:
        return 1.0
    return float(min(1.0, 2 * stats.binom.cdf(min(a_only, b_only), n, 0.5)))


def difference_interval(a: Interval, b: Interval) -> tuple[float, float]:
    """Newcombe's hybrid score 95 % interval of ``a - b`` for independent proportions."""
    d = a.estimate - b.estimate
    low = d - np.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + np.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return float(low), float(high)


def compare_counts(a_right: int, a_n: int, b_right: int, b_n: int, measure: str = "accuracy") -> Comparison:
    """Two proportions measured on different cases: Fisher's exact test and Newcombe's interval."""
    a, b = wilson_interval(a_right, a_n), wilson_interval(b_right, b_n)
    if not (a_n and b_n):
        raise SettingsError(f"Cannot compare {measure} with no cases ({a_n} and {b_n}).")
    table = [[a_right, a_n - a_right], [b_right, b_n - b_right]]
    p_value = float(stats.fisher_exact(table).pvalue)
    low, high = difference_interval(a, b)
    return Comparison(measure, a, b, p_value, paired=False, low=low, high=high)


def scored_slices(result, measure: str = "accuracy") -> dict[str, bool]:
    """Test slice id -> right or wrong, for the slices a measure counts (argmax decisions).

    ``accuracy`` counts every test slice; ``sensitivity`` the slices of the positive class (right:
    called positive); ``specificity`` the others (right: not called positive).
    """
    if measure not in MEASURES:
        raise SettingsError(f"measure must be one of {MEASURES}, not {measure!r}.")
    labels, probabilities, _ = result_arrays(result)
    predicted = probabilities.argmax(axis=1)
    if measure == "accuracy":
        counted, right = np.ones(len(labels), bool), predicted == labels
    else:
        k = result_positive(result)
        counted = labels == k if measure == "sensitivity" else labels != k
        right = (predicted == k) if measure == "sensitivity" else (predicted != k)
    ids = list(result.test_ids)
    return {ids[i]: bool(right[i]) for i in np.flatnonzero(counted)}


def proportion(result, measure: str = "accuracy") -> Interval:
    """A result's accuracy, sensitivity or specificity (argmax decisions) with its Wilson interval."""
    right = scored_slices(result, measure)
    return wilson_interval(sum(right.values()), len(right))


def compare_results(a, b, measure: str = "accuracy") -> Comparison:
    """Model A against model B on one measure: paired (McNemar) when both were tested on the same
    slices, unpaired (Fisher) otherwise."""
    a_right, b_right = scored_slices(a, measure), scored_slices(b, measure)
    if set(a_right) != set(b_right):
        return compare_counts(sum(a_right.values()), len(a_right), sum(b_right.values()),
                              len(b_right), measure)
    if not a_right:
        raise SettingsError(f"Cannot compare {measure}: the test set has no such slices.")
    a_only = sum(a_right[i] and not b_right[i] for i in a_right)
    b_only = sum(b_right[i] and not a_right[i] for i in a_right)
    n = len(a_right)
    return Comparison(measure, wilson_interval(sum(a_right.values()), n),
                      wilson_interval(sum(b_right.values()), n), mcnemar_exact(a_only, b_only),
                      paired=True, a_only=a_only, b_only=b_only)
