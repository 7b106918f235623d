"""Training Teachable Machine's model in seconds, and the record of one training run.

:func:`train` splits a data set, embeds its images once with the frozen backbone (cached on disk,
:mod:`~rsna_workshop.model.embeddings`) and trains the head with NumPy Adam
(:mod:`~rsna_workshop.model.head`). It returns a :class:`TrainingResult`: the trained
:class:`~rsna_workshop.model.classifier.Classifier` with the history, the split and the test
set's probabilities. How good the result is, is :mod:`rsna_workshop.evaluation`'s business.

>>> result = train(open_data("experiment1"), seed=0)     # doctest: +SKIP
>>> result.history["test_accuracy"][-1]                   # doctest: +SKIP
0.6
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..datasets import Dataset, Item, split as split_dataset
from ..errors import DataError, MissingFileError, SettingsError
from .backbone import backbone_id
from .classifier import Classifier
from .embeddings import embed
from .finetune import BACKBONE_BLOCKS, fine_tune
from .head import Head, cross_entropy, fit_epoch
from .history import EpochLog

EARLY_STOPPING_PATIENCE = 10
RECORD, ITEMS = "result.json", "items.json"


@dataclass
class TrainingResult:
    """The record of one training run, holding the classifier it produced.

    ``history`` holds per-epoch ``accuracy`` and ``loss`` (training batches, as Keras logs them)
    and ``test_accuracy`` and ``test_loss`` (the held-out test set after the epoch).
    ``train_index`` and ``test_index`` refer to ``dataset.items``; ``test_labels`` are class
    indices and ``test_probabilities`` the classifier's output on the test set.
    ``dataset`` is None when a saved result was loaded and its image files are gone.
    """

    classifier: Classifier
    params: dict
    history: dict
    train_index: np.ndarray
    test_index: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray
    test_probabilities: np.ndarray
    test_ids: list[str]
    seconds: float
    dataset: Dataset | None = field(default=None, repr=False)

    @property
    def classes(self) -> tuple[str, ...]:
        """The classifier's classes."""
        return self.classifier.classes

    @property
    def positive(self) -> str | None:
        """The class that means "disease present", as the data set declared it."""
        return self.classifier.positive

    def test_images(self, positions=None) -> np.ndarray:
        """Model-ready images of the test set (all, or at ``positions`` in the test set)."""
        if self.dataset is None:
            raise DataError(
                "This result has no images: it was loaded from disk and its image files are no "
                "longer where they were. Train again, or keep the images where they were saved from."
            )
        positions = range(len(self.test_index)) if positions is None else positions
        return self.dataset.images(int(self.test_index[j]) for j in positions)

    def retest(self) -> float:
        """Test accuracy of the finished model, computed afresh from its test images.

        Predicting is arithmetic with fixed weights: calling this twice gives the same number, and
        it equals the accuracy the training run reported for its last epoch. The frozen backbone's
        part comes from the embedding cache, so no backbone (no TensorFlow) is needed for it.
        """
        if self.classifier.fine_tuned is None and self.dataset is not None:
            probabilities = self.classifier.probabilities(embed(self.dataset.subset(self.test_index)))
        else:
            probabilities = self.classifier.predict(self.test_images())
        predicted = probabilities.argmax(axis=1)
        return float(np.mean(predicted == self.test_labels))

    def save(self, folder) -> Path:
        """Write the classifier (see :meth:`Classifier.save`), ``result.json`` and ``items.json``."""
        folder = self.classifier.save(folder)
        record = {
            "params": self.params, "history": self.history, "seconds": self.seconds,
            "train_index": self.train_index.tolist(), "test_index": self.test_index.tolist(),
            "train_labels": self.train_labels.tolist(), "test_labels": self.test_labels.tolist(),
            "test_probabilities": self.test_probabilities.tolist(), "test_ids": list(self.test_ids),
        }
        (folder / RECORD).write_text(json.dumps(record, indent=1))
        if self.dataset is not None:
            (folder / ITEMS).write_text(json.dumps(_dataset_record(self.dataset), indent=1))
        return folder

    @classmethod
    def load(cls, folder) -> "TrainingResult":
        """Read a result written by :meth:`save`; its data set comes back if its files are there."""
        folder = Path(folder)
        classifier = Classifier.load(folder)
        if not (folder / RECORD).is_file():
            raise MissingFileError(f"'{folder}' holds a model but no {RECORD}: it was saved as a "
                                   f"classifier, not a training result. Use Classifier.load.")
        record = json.loads((folder / RECORD).read_text())
        dataset = _dataset_from_record(folder / ITEMS, classifier)
        as_int = {key: np.array(record[key], dtype=np.int64)
                  for key in ("train_index", "test_index", "train_labels", "test_labels")}
        probabilities = np.array(record["test_probabilities"], dtype=np.float32)
        return cls(classifier=classifier, params=record["params"], history=record["history"],
                   test_probabilities=probabilities.reshape(-1, len(classifier.classes)),
                   test_ids=record["test_ids"], seconds=record["seconds"], dataset=dataset, **as_int)


def _dataset_record(dataset: Dataset) -> dict:
    return {"name": dataset.name, "classes": list(dataset.classes),
            "items": [[item.id, str(item.source), item.label, item.patient_id, item.member,
                       None if item.mask is None else str(item.mask), list(item.findings)]
                      for item in dataset.items]}


def _dataset_from_record(path: Path, classifier: Classifier) -> Dataset | None:
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    items = [_item_from_record(*row) for row in record["items"]]
    if not all(item.source.is_file() for item in items):
        return None
    return Dataset(tuple(record["classes"]), items, classifier.preprocess, record["name"],
                   positive=classifier.positive)


def _item_from_record(id_, source, label, patient, member, mask=None, findings=()) -> Item:
    """One item of ``items.json`` (results saved before masks and findings were kept have neither)."""
    return Item(id_, Path(source), label, patient, member, None if mask is None else Path(mask), tuple(findings))


def train(
    dataset: Dataset,
    *,
    epochs: int | None = None,
    learning_rate: float | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    split: str = "teachable",
    test_fraction: float = 0.15,
    class_weight=None,
    oversample: bool = False,
    fine_tune_blocks: int = 0,
    early_stopping: bool | int = False,
    on_epoch=None,
    progress: bool = False,
) -> TrainingResult:
    """Train Teachable Machine's model on ``dataset``; returns a :class:`TrainingResult`.

    Parameters
    ----------
    epochs, learning_rate, batch_size
        Teachable Machine's "Advanced" settings. None takes the data set's own
        (``dataset.settings``: the recipe's, or the project file's, or Teachable Machine's defaults).
    seed
        Seeds the split, the head's initial weights and the batch shuffling: same seed, same
        machine, identical numbers.
    split
        ``"teachable"``: shuffle each class, its first ceil(``test_fraction``) is the test set
        (Teachable Machine). ``"patient"``: whole patients go to one side only.
    class_weight
        Beyond Teachable Machine, for imbalance: None, ``"balanced"`` (n / (classes x count)) or a
        dict class name -> weight, multiplying each image's training loss.
    oversample
        Beyond Teachable Machine: repeat random training images of the smaller classes until every
        class has as many as the largest.
    fine_tune_blocks
        Beyond Teachable Machine: unfreeze the last k of MobileNetV2's 16 blocks and train end to end
        on the images with Keras (no cache: minutes instead of seconds).
    early_stopping
        Stop when the test loss has not improved for 10 epochs (or this many, given an int) and keep
        the best weights. It peeks at the test set, so the test accuracy becomes optimistic.
    on_epoch
        ``on_epoch(epoch, history)`` after each epoch (epoch counts from 1; ``history`` holds the
        lists so far), e.g. to draw live curves.
    progress
        Show a progress bar: one step per image embedded, then one per epoch.

    Example
    -------
    >>> result = train(open_data("experiment1"), seed=SEED)    # doctest: +SKIP
    """
    started = time.perf_counter()
    settings = dataset.settings.replace(epochs=epochs, learning_rate=learning_rate, batch_size=batch_size)
    _check_options(fine_tune_blocks, early_stopping)
    labels = np.asarray(dataset.labels(), dtype=np.int64)
    classes = tuple(dataset.classes)
    train_index, test_index = split_dataset(dataset, split, seed, test_fraction)
    _check_split(classes, labels, train_index, test_index)
    fit_index = _oversampled(train_index, labels, seed) if oversample else train_index
    sample_weight = _sample_weights(class_weight, classes, labels, train_index)
    options = dict(epochs=settings.epochs, learning_rate=settings.learning_rate,
                   batch_size=settings.batch_size, seed=seed, patience=_patience(early_stopping),
                   on_epoch=on_epoch, progress=progress)
    if fine_tune_blocks:
        outcome = fine_tune(dataset, labels, fit_index, test_index, sample_weight, fine_tune_blocks, **options)
    else:
        features = embed(dataset, progress=progress)
        outcome = _train_head(features, labels, len(classes), fit_index, test_index, sample_weight, **options)
    history, test_probabilities, head_weights, fine_tuned = outcome
    classifier = Classifier(classes, head_weights, dataset.preprocess, dataset.positive, fine_tuned)
    params = dict(epochs=settings.epochs, learning_rate=settings.learning_rate,
                  batch_size=settings.batch_size, seed=seed, split=split, test_fraction=test_fraction,
                  class_weight=_jsonable(class_weight), oversample=oversample,
                  fine_tune_blocks=fine_tune_blocks, early_stopping=early_stopping,
                  epochs_kept=len(history["loss"]), preprocessing=dataset.preprocess.describe(),
                  backbone=backbone_id())
    return TrainingResult(
        classifier=classifier, params=params, history=history,
        train_index=train_index, test_index=test_index,
        train_labels=labels[train_index], test_labels=labels[test_index],
        test_probabilities=test_probabilities, test_ids=[dataset.items[i].id for i in test_index],
        seconds=time.perf_counter() - started, dataset=dataset,
    )


def _check_options(fine_tune_blocks, early_stopping) -> None:
    problems = []
    if not (isinstance(fine_tune_blocks, (int, np.integer)) and 0 <= fine_tune_blocks <= BACKBONE_BLOCKS):
        problems.append(f"fine_tune_blocks must be between 0 and {BACKBONE_BLOCKS} (got {fine_tune_blocks!r})")
    if early_stopping is not True and early_stopping is not False and not (
            isinstance(early_stopping, int) and early_stopping >= 1):
        problems.append(f"early_stopping must be True, False or a patience >= 1 (got {early_stopping!r})")
    if problems:
        raise SettingsError("Cannot train: " + "; ".join(problems) + ".")


def _check_split(classes, labels, train_index, test_index) -> None:
    counts = np.bincount(labels[train_index], minlength=len(classes))
    empty = [name for name, n in zip(classes, counts) if n == 0]
    if len(classes) < 2 or empty or len(test_index) == 0:
        what = (f"{len(classes)} class(es)" if len(classes) < 2 else
                f"no training images for {empty}" if empty else "an empty test set")
        raise DataError(
            f"Cannot train: the data set gives {what} (images per class: "
            f"{dict(zip(classes, np.bincount(labels, minlength=len(classes)).tolist()))}). "
            f"Teachable Machine needs at least 2 classes with at least 2 images each; add images."
        )


def _oversampled(train_index, labels, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 2])
    groups = [train_index[labels[train_index] == c] for c in np.unique(labels[train_index])]
    largest = max(len(group) for group in groups)
    extra = [rng.choice(group, largest - len(group)) for group in groups]
    return np.sort(np.concatenate([train_index, *extra]))


def _sample_weights(class_weight, classes, labels, train_index) -> np.ndarray | None:
    """A weight per data set item from ``class_weight`` (None, "balanced" or a dict)."""
    if class_weight is None:
        return None
    if class_weight == "balanced":
        counts = np.bincount(labels[train_index], minlength=len(classes))
        per_class = len(train_index) / (len(classes) * np.maximum(counts, 1))
    elif isinstance(class_weight, dict) and set(class_weight) <= set(classes):
        per_class = np.array([float(class_weight.get(name, 1.0)) for name in classes])
    else:
        raise SettingsError(
            f"class_weight must be None, 'balanced' or a dict whose keys are among the classes "
            f"{list(classes)} (got {class_weight!r})."
        )
    return per_class[labels].astype(np.float32)


def _patience(early_stopping) -> int | None:
    if early_stopping is False:
        return None
    return EARLY_STOPPING_PATIENCE if early_stopping is True else int(early_stopping)


def _jsonable(value):
    return {str(k): float(v) for k, v in value.items()} if isinstance(value, dict) else value


def _train_head(features, labels, n_classes, fit_index, test_index, sample_weight, *, epochs,
                learning_rate, batch_size, seed, patience, on_epoch, progress):
    """The head on cached embeddings: NumPy mini-batch Adam.

    The training images are shuffled once and then met in that same order every epoch, as in
    Teachable Machine, which shuffles its examples once and hands the batched list to ``fitDataset``
    (a ``tf.data`` list is not reshuffled between epochs).
    """
    head = Head(features.shape[1], n_classes, seed=seed, learning_rate=learning_rate)
    order = np.random.default_rng([seed, 3]).permutation(fit_index)
    test_x, test_y = features[test_index], labels[test_index]
    log = EpochLog(epochs, patience, on_epoch, progress)
    best = (head.get_weights(), None)
    with threadpool_limits(1, user_api="blas"):  # small matrices: threads cost more than they give
        for _ in range(epochs):
            accuracy, loss = fit_epoch(head, features, labels, order, batch_size, sample_weight)
            test_probabilities = head.probabilities(test_x)
            stop = log.add(accuracy=accuracy, loss=loss,
                           test_accuracy=np.mean(test_probabilities.argmax(1) == test_y),
                           test_loss=cross_entropy(test_probabilities, test_y).mean())
            if patience is None or log.best_epoch == len(log.history["loss"]):
                best = (head.get_weights(), test_probabilities)
            if stop:
                break
    return log.close(), best[1], best[0], None

