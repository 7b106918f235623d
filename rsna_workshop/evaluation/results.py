"""Judging a training result: its confusion matrix, metrics for its positive class, its curves,
and the report the command line writes.

Each function takes a training result, or any object with its ``classes``, ``positive``,
``history``, ``test_labels``, ``test_probabilities`` (and, for :func:`report` and
:func:`summary`, ``params``, ``train_index``, ``test_index`` and ``seconds``).
"""

from __future__ import annotations

import numpy as np

from ..errors import SettingsError
from .metrics import BinaryMetrics, binary_metrics, confusion_matrix, per_class_accuracy, positive_index


def result_arrays(result) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``(test_labels, test_probabilities, classes)`` of a training result, checked for shape."""
    labels = np.asarray(result.test_labels, dtype=int)
    probabilities = np.asarray(result.test_probabilities, dtype=float)
    classes = tuple(result.classes)
    if probabilities.shape != (len(labels), len(classes)):
        raise SettingsError(
            f"test_probabilities has shape {probabilities.shape}; expected ({len(labels)}, "
            f"{len(classes)}) for {len(labels)} test cases and classes {classes}."
        )
    return labels, probabilities, classes


def result_positive(result, positive=None) -> int:
    """Index of the positive class: ``positive`` when given, else the one the result declares."""
    return positive_index(result.classes, getattr(result, "positive", None) if positive is None else positive)


def result_metrics(result, positive=None, threshold: float = 0.5) -> BinaryMetrics:
    """:func:`binary_metrics` of a training result for its positive class (or ``positive``)."""
    labels, probabilities, _ = result_arrays(result)
    k = result_positive(result, positive)
    return binary_metrics(labels, probabilities[:, k], positive=k, threshold=threshold)


def flagging_threshold(result, share: float = 0.1, positive=None) -> float:
    """A decision threshold at which the model flags about ``share`` of the test slices as positive.

    It is chosen from the probabilities alone, not the labels: the probability of the
    ``ceil(share * n)``-th most suspicious test slice, rounded down to two significant figures
    (so it reads well), which flags at least that many slices. Useful where a model never gives the
    positive class a high probability, and a round threshold such as 10 % would flag nothing.

    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(classes=("normal", "hemorrhage"), positive="hemorrhage", test_labels=[0, 0, 1, 0],
    ...                     test_probabilities=[[0.99, 0.01], [0.97, 0.03], [0.9541, 0.0459], [0.98, 0.02]])
    >>> flagging_threshold(r, share=0.25)
    0.045
    """
    if not 0 < share <= 1:
        raise SettingsError(f"share is the part of the test slices to flag, between 0 and 1; got {share}.")
    _, probabilities, _ = result_arrays(result)
    if not len(probabilities):
        raise SettingsError("The result has no test slices, so no threshold can be read from them.")
    scores = np.sort(probabilities[:, result_positive(result, positive)])[::-1]
    kth = float(scores[int(np.ceil(share * len(scores) - 1e-9)) - 1])
    if kth <= 0:
        return 0.0
    unit = 10.0 ** (np.floor(np.log10(kth)) - 1)
    return min(float(np.round(np.floor(kth / unit + 1e-9) * unit, 12)), kth)


def result_confusion(result) -> np.ndarray:
    """The test set's confusion matrix: rows true class, columns predicted, in ``classes`` order."""
    labels, probabilities, classes = result_arrays(result)
    return confusion_matrix(labels, probabilities.argmax(axis=1), len(classes))


def result_per_class(result) -> dict[str, float | None]:
    """Share of each class's test images predicted right (None when a class has none)."""
    shares = per_class_accuracy(result_confusion(result))
    return {name: None if np.isnan(share) else float(share) for name, share in zip(result.classes, shares)}


def confusion_cell(result, true: int, predicted: int) -> np.ndarray:
    """Positions in the test set of the slices of class ``true`` called ``predicted``, the most
    confident calls first (the slices behind one cell of the confusion matrix)."""
    labels, probabilities, _ = result_arrays(result)
    called = probabilities.argmax(axis=1)
    members = np.flatnonzero((labels == true) & (called == predicted))
    return members[np.argsort(-probabilities[members, predicted], kind="stable")]


def mistakes(result) -> np.ndarray:
    """Positions of the wrongly called test slices, the most confident mistakes first."""
    labels, probabilities, _ = result_arrays(result)
    called = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(called != labels)
    return wrong[np.argsort(-probabilities[wrong, called[wrong]], kind="stable")]


def sensitivity(result, positive=None) -> float:
    """Share of the test set's positive slices that the model called positive (argmax)."""
    return float(per_class_accuracy(result_confusion(result))[result_positive(result, positive)])


def final(result, key: str) -> float:
    """The last epoch's value of a history curve (``accuracy``, ``test_loss`` ...)."""
    return float(result.history[key][-1])


def loss_rise(result) -> float:
    """How far the final test loss sits above its lowest, as a share of the lowest (0.2: 20 % above)."""
    losses = np.asarray(result.history["test_loss"], dtype=float)
    return float(losses[-1] / losses.min() - 1)


def report(result) -> dict:
    """A JSON-able summary of a training result: the command line's ``--json`` contract."""
    h = result.history
    return {
        "classes": list(result.classes),
        "positive": result.positive,
        "n_train": int(len(result.train_index)),
        "n_test": int(len(result.test_index)),
        **{key: result.params[key] for key in ("epochs", "learning_rate", "batch_size", "seed")},
        "train_accuracy": h["accuracy"][-1],
        "test_accuracy": h["test_accuracy"][-1],
        "test_loss": h["test_loss"][-1],
        "per_class_accuracy": result_per_class(result),
        "confusion_matrix": result_confusion(result).tolist(),
        "history": {key: list(values) for key, values in h.items()},
        "seconds": round(result.seconds, 3),
        "params": result.params,
    }


def summary(result) -> str:
    """A few lines about a training result, for a console."""
    p, h = result.params, result.history
    per_class = ", ".join(f"{name} {_percent(share)}" for name, share in result_per_class(result).items())
    return (
        f"Trained {len(h['loss'])} epochs (batch {p['batch_size']}, learning rate "
        f"{p['learning_rate']:g}, seed {p['seed']}) on {len(result.train_index)} images in "
        f"{result.seconds:.1f} s.\n"
        f"Train accuracy {_percent(h['accuracy'][-1])}; test accuracy "
        f"{_percent(h['test_accuracy'][-1])} on {len(result.test_index)} images, test loss "
        f"{h['test_loss'][-1]:.3f}.\n"
        f"Per class (test): {per_class}."
    )


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"
