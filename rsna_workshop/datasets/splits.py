"""How a data set is split into training and test images: Teachable Machine's way, or by patient."""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from ..errors import SettingsError

SPLITS = ("teachable", "patient")


def teachable_split(
    labels: Sequence[int], seed: int, test_fraction: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    """Teachable Machine's split: shuffle each class, its first ceil(15 %) is the test set.

    Returns sorted ``(train_index, test_index)``; the same seed gives the same split. Slices of
    one patient can land on both sides.

    >>> train, test = teachable_split([0] * 10 + [1] * 30, seed=0)
    >>> len(test)   # ceil(1.5) + ceil(4.5)
    7
    """
    _check_fraction(test_fraction)
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test.append(members[: math.ceil(test_fraction * len(members))])
    test_index = np.sort(np.concatenate(test)) if test else np.empty(0, dtype=np.int64)
    train_index = np.setdiff1d(np.arange(len(labels)), test_index)
    return train_index, test_index


def patient_split(
    patient_ids: Sequence[str], seed: int, test_fraction: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    """A split with no patient on both sides: whole patients, shuffled with ``seed``, go to the
    test set until it holds at least ``test_fraction`` of the images. Returns sorted indices.

    >>> patient_split(["a", "a", "b", "b", "c", "c"], seed=0, test_fraction=0.3)[1]
    array([4, 5])
    """
    _check_fraction(test_fraction)
    patients = np.array(patient_ids)
    order = np.random.default_rng(seed).permutation(np.unique(patients))
    target = math.ceil(test_fraction * len(patients))
    sizes = Counter(patients.tolist())
    taken, in_test = 0, []
    for patient in order:
        if taken >= target:
            break
        in_test.append(patient)
        taken += sizes[patient]
    test_mask = np.isin(patients, in_test)
    return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)


def split(dataset, kind: str, seed: int, test_fraction: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """``(train_index, test_index)`` of ``dataset`` by ``kind``: ``"teachable"`` or ``"patient"``."""
    if kind == "teachable":
        return teachable_split(dataset.labels(), seed, test_fraction)
    if kind == "patient":
        return patient_split(dataset.patient_ids(), seed, test_fraction)
    raise SettingsError(f"split must be one of {SPLITS} (got {kind!r}).")


def _check_fraction(test_fraction) -> None:
    if not (isinstance(test_fraction, (int, float)) and 0 < test_fraction < 1):
        raise SettingsError(f"test_fraction must lie between 0 and 1 (got {test_fraction!r}); "
                            f"Teachable Machine holds out 0.15")
