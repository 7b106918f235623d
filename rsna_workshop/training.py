"""Teachable Machine's image model, trained in seconds.

The model is Teachable Machine's: a frozen ImageNet MobileNetV2 (width 0.35, 224 x 224) cut at
``out_relu`` and averaged to a 1280-value embedding per image, then a small head,
Dense(100, relu) -> Dense(classes, softmax, no bias), trained with Adam on categorical
cross-entropy. Two things make it fast without changing the maths:

1. The backbone is frozen, so each image's embedding is computed once and cached on disk
   (:func:`rsna_workshop.embeddings.embed`, also importable from here): training again with
   other epochs, rate or seed never runs the backbone.
2. The head is trained by plain mini-batch Adam written in NumPy (:class:`Head`), the same
   formulas Keras uses, without Keras' per-batch overhead.

>>> result = train(dataset, epochs=50, seed=0)          # doctest: +SKIP
>>> print(result.summary())                             # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import numbers
import os
import time
import warnings
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path

import numpy as np

from . import embeddings, evaluation, weights
from .embeddings import backbone_id, embed, scale

__all__ = ["Head", "TrainingResult", "embed", "scale", "train"]

HIDDEN_UNITS = 100
ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}  # Keras and TensorFlow.js defaults
CLIP = 1e-7  # Keras clips probabilities to [CLIP, 1 - CLIP] inside the cross-entropy
SPLITS = ("teachable", "patient")
EARLY_STOPPING_PATIENCE = 10
BACKBONE_BLOCKS = 16  # MobileNetV2's inverted-residual blocks, block_1 ... block_16
HISTORY_KEYS = ("accuracy", "loss", "test_accuracy", "test_loss")


# ---- the head: Teachable Machine's two dense layers, trained by NumPy Adam ---------------------


def variance_scaling(fan_in: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Keras' VarianceScaling(scale=1, mode="fan_in", distribution="truncated_normal").

    A normal cut at two standard deviations, widened so that after the cut the standard deviation
    is ``sqrt(1 / fan_in)``.
    """
    stddev = math.sqrt(1.0 / fan_in) / 0.87962566103423978
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(outside.sum())
        outside = np.abs(values) > 2
    return (values * stddev).astype(np.float32)


class Head:
    """Dense(100, relu, bias) -> Dense(n_classes, softmax, no bias), with its Adam state.

    All parameters live in one flat float32 vector (``kernel_1``, ``bias_1`` and ``kernel_2`` are
    views into it), so one Adam step is ten vectorised operations over one array. The update is
    Keras' Adam::

        m = beta_1 m + (1 - beta_1) g        v = beta_2 v + (1 - beta_2) g^2
        w -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

    kept as ``M = m / (1 - beta_1)`` and ``V = v / (1 - beta_2)`` (constants folded into the step),
    which needs fewer passes over memory and gives the same numbers to float rounding.

    >>> head = Head(1280, 2, seed=0)
    >>> head.count_params()
    128200
    """

    def __init__(self, n_inputs: int, n_classes: int, seed: int = 0, learning_rate: float = 0.001):
        rng = np.random.default_rng([seed, 1])
        shapes = {"kernel_1": (n_inputs, HIDDEN_UNITS), "bias_1": (HIDDEN_UNITS,),
                  "kernel_2": (HIDDEN_UNITS, n_classes)}
        sizes = [math.prod(shape) for shape in shapes.values()]
        self.params, self.grads = (np.zeros(sum(sizes), np.float32) for _ in range(2))
        self._moment_1, self._moment_2, self._scratch = (np.zeros_like(self.params) for _ in range(3))
        offsets = np.cumsum([0] + sizes)
        for (name, shape), start, stop in zip(shapes.items(), offsets, offsets[1:]):
            setattr(self, name, self.params[start:stop].reshape(shape))
            setattr(self, "d_" + name, self.grads[start:stop].reshape(shape))
        self.kernel_1[:] = variance_scaling(n_inputs, shapes["kernel_1"], rng)
        self.kernel_2[:] = variance_scaling(HIDDEN_UNITS, shapes["kernel_2"], rng)
        self.learning_rate = learning_rate
        self.steps = 0

    def count_params(self) -> int:
        return self.params.size

    def get_weights(self) -> list[np.ndarray]:
        """Copies of ``[kernel_1, bias_1, kernel_2]``, in Keras' ``get_weights`` order."""
        return [self.kernel_1.copy(), self.bias_1.copy(), self.kernel_2.copy()]

    def set_weights(self, values) -> None:
        for target, value in zip((self.kernel_1, self.bias_1, self.kernel_2), values):
            target[:] = value

    def _hidden(self, x: np.ndarray) -> np.ndarray:
        hidden = x @ self.kernel_1
        hidden += self.bias_1
        return np.maximum(hidden, 0, out=hidden)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Softmax class probabilities (N, n_classes) of embeddings ``x`` (N, n_inputs)."""
        return _softmax(self._hidden(x) @ self.kernel_2)

    def train_batch(self, x: np.ndarray, onehot: np.ndarray, sample_weight: np.ndarray | None):
        """One Adam step on a batch; returns its probabilities (before the step)."""
        hidden = self._hidden(x)
        probabilities = _softmax(hidden @ self.kernel_2)
        d_logits = probabilities - onehot
        if sample_weight is not None:
            d_logits *= sample_weight[:, None]
        d_logits /= len(x)  # Keras averages the loss over the batch
        np.matmul(hidden.T, d_logits, out=self.d_kernel_2)
        d_hidden = d_logits @ self.kernel_2.T
        d_hidden[hidden <= 0] = 0
        np.sum(d_hidden, axis=0, out=self.d_bias_1)
        np.matmul(x.T, d_hidden, out=self.d_kernel_1)
        self._adam_step()
        return probabilities

    def _adam_step(self) -> None:
        beta_1, beta_2, epsilon = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
        self.steps += 1
        t = self.steps
        step = (self.learning_rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
                * (1 - beta_1) / math.sqrt(1 - beta_2))
        m, v, g, tmp = self._moment_1, self._moment_2, self.grads, self._scratch
        m *= beta_1
        m += g
        v *= beta_2
        np.multiply(g, g, out=tmp)
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += epsilon / math.sqrt(1 - beta_2)
        np.divide(m, tmp, out=tmp)
        tmp *= step
        self.params -= tmp


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample categorical cross-entropy, with Keras' clipping of the probabilities."""
    picked = probabilities[np.arange(len(labels)), labels]
    return -np.log(np.clip(picked, CLIP, 1 - CLIP))


def fit_epoch(head: Head, x, labels, order, batch_size: int, sample_weight=None) -> tuple[float, float]:
    """Train ``head`` one epoch over ``x[order]`` in mini-batches; returns (accuracy, loss).

    Like Keras' ``fit`` logs: the running mean over the epoch's batches (the weights change as it
    goes), the loss weighted by ``sample_weight`` when given.
    """
    x, labels = x[order], labels[order]
    onehot = np.eye(head.kernel_2.shape[1], dtype=np.float32)[labels]
    weight = None if sample_weight is None else sample_weight[order]
    seen = np.empty(onehot.shape, np.float32)  # each batch's probabilities, before its step
    for start in range(0, len(order), batch_size):
        stop = start + batch_size
        seen[start:stop] = head.train_batch(
            x[start:stop], onehot[start:stop], None if weight is None else weight[start:stop])
    losses = cross_entropy(seen, labels)
    loss_sum = losses.sum() if weight is None else losses @ weight
    return float(np.mean(seen.argmax(axis=1) == labels)), float(loss_sum) / len(order)


# ---- the result ---------------------------------------------------------------------------------


@dataclass
class TrainingResult:
    """Everything a lesson needs from one training run.

    ``history`` holds per-epoch ``accuracy`` and ``loss`` (training batches, as Keras logs them)
    and ``test_accuracy`` and ``test_loss`` (the held-out test set after the epoch). Indices refer
    to ``dataset.items``; ``confusion_matrix`` has true classes as rows and predicted classes as
    columns, in ``classes`` order.
    """

    classes: tuple[str, ...]
    params: dict
    history: dict
    train_index: np.ndarray
    test_index: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray
    test_probabilities: np.ndarray
    test_ids: list[str]
    head_weights: list[np.ndarray]
    seconds: float
    preprocess: object = None
    dataset: object = field(default=None, repr=False)
    fine_tuned_model: object = field(default=None, repr=False)
    _keras_model: object = field(default=None, init=False, repr=False, compare=False)

    @property
    def test_predictions(self) -> np.ndarray:
        return self.test_probabilities.argmax(axis=1)

    @property
    def confusion_matrix(self) -> np.ndarray:
        """Test counts, rows true class, columns predicted, in ``classes`` order."""
        return evaluation.confusion_matrix(self.test_labels, self.test_predictions, len(self.classes))

    @property
    def per_class_accuracy(self) -> dict[str, float | None]:
        """Share of each class's test images predicted right (None when a class has none)."""
        shares = evaluation.per_class_accuracy(self.confusion_matrix)
        return {name: None if np.isnan(share) else float(share) for name, share in zip(self.classes, shares)}

    def summary(self) -> str:
        """A few lines for a console or a notebook."""
        p, h = self.params, self.history
        per_class = ", ".join(f"{name} {_percent(value)}" for name, value in self.per_class_accuracy.items())
        return (
            f"Trained {len(h['loss'])} epochs (batch {p['batch_size']}, learning rate "
            f"{p['learning_rate']:g}, seed {p['seed']}) on {len(self.train_index)} images in "
            f"{self.seconds:.1f} s.\n"
            f"Train accuracy {_percent(h['accuracy'][-1])}; test accuracy "
            f"{_percent(h['test_accuracy'][-1])} on {len(self.test_index)} images, test loss "
            f"{h['test_loss'][-1]:.3f}.\n"
            f"Per class (test): {per_class}."
        )

    def to_dict(self) -> dict:
        """A JSON-able summary: the CLI's ``--json`` contract plus the run's settings."""
        h = self.history
        return {
            "classes": list(self.classes),
            "n_train": int(len(self.train_index)),
            "n_test": int(len(self.test_index)),
            **{key: self.params[key] for key in ("epochs", "learning_rate", "batch_size", "seed")},
            "train_accuracy": h["accuracy"][-1],
            "test_accuracy": h["test_accuracy"][-1],
            "test_loss": h["test_loss"][-1],
            "per_class_accuracy": self.per_class_accuracy,
            "confusion_matrix": self.confusion_matrix.tolist(),
            "history": {key: list(h[key]) for key in HISTORY_KEYS},
            "seconds": round(self.seconds, 3),
            "params": self.params,
        }

    # -- saving -----------------------------------------------------------------------------------

    def save(self, folder) -> Path:
        """Write ``result.json``, ``head.npz`` (and ``model.keras`` after fine-tuning) to ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        record = self.to_dict()
        record.update(
            train_index=self.train_index.tolist(), test_index=self.test_index.tolist(),
            train_labels=self.train_labels.tolist(), test_labels=self.test_labels.tolist(),
            test_probabilities=self.test_probabilities.tolist(), test_ids=list(self.test_ids),
            seconds=self.seconds, preprocess=_preprocess_record(self.preprocess),
        )
        (folder / "result.json").write_text(json.dumps(record, indent=1))
        np.savez(folder / "head.npz", *self.head_weights)
        if self.fine_tuned_model is not None:
            self.fine_tuned_model.save(folder / "model.keras")
        return folder

    @classmethod
    def load(cls, folder) -> "TrainingResult":
        """Read a result written by :meth:`save` (without its data set)."""
        folder = Path(folder)
        if not (folder / "result.json").is_file() or not (folder / "head.npz").is_file():
            raise FileNotFoundError(
                f"'{folder}' holds no saved model (result.json and head.npz). Save one with "
                f"`rsna-workshop train DATA --save {folder}` or result.save('{folder}')."
            )
        record = json.loads((folder / "result.json").read_text())
        with np.load(folder / "head.npz") as data:
            head_weights = [data[f"arr_{i}"] for i in range(3)]
        fine_tuned = None
        if (folder / "model.keras").is_file():
            import keras

            fine_tuned = keras.models.load_model(folder / "model.keras")
        return cls(
            classes=tuple(record["classes"]), params=record["params"], history=record["history"],
            train_index=np.array(record["train_index"], dtype=np.int64),
            test_index=np.array(record["test_index"], dtype=np.int64),
            train_labels=np.array(record["train_labels"], dtype=np.int64),
            test_labels=np.array(record["test_labels"], dtype=np.int64),
            test_probabilities=np.array(record["test_probabilities"], dtype=np.float32).reshape(
                -1, len(record["classes"])),
            test_ids=record["test_ids"], head_weights=head_weights, seconds=record["seconds"],
            preprocess=_preprocess_from_record(record["preprocess"]), fine_tuned_model=fine_tuned,
        )

    # -- using the model --------------------------------------------------------------------------

    def keras_model(self):
        """The whole model as Keras: (N, 224, 224, 3) float32 scaled ``x / 127 - 1`` -> softmax.

        Built once per result (the backbone takes seconds to build) and reused by later calls.
        """
        if self.fine_tuned_model is not None:
            return self.fine_tuned_model
        if self._keras_model is None:
            self._keras_model = _full_model(weights.build_backbone(), len(self.classes), self.head_weights)
        return self._keras_model

    def predict(self, images_or_paths) -> np.ndarray:
        """Class probabilities (N, n_classes) for images, as Teachable Machine's preview does.

        Accepts one or a list of file paths (PNG, JPEG or DICOM, read with the training
        preprocessing), model-ready (224, 224, 3) uint8 images, or an (N, 224, 224, 3) array.
        """
        images = self._model_ready(images_or_paths)
        if self.fine_tuned_model is not None:
            return np.asarray(self.fine_tuned_model(scale(images), training=False))
        head = Head(weights.EMBEDDING_SIZE, len(self.classes))
        head.set_weights(self.head_weights)
        return head.probabilities(embeddings.run_backbone(images))

    def _model_ready(self, images_or_paths) -> np.ndarray:
        from .imaging import Preprocess, load_image

        if isinstance(images_or_paths, (str, os.PathLike)) or (
                isinstance(images_or_paths, np.ndarray) and images_or_paths.ndim == 3):
            images_or_paths = [images_or_paths]
        preprocess = self.preprocess or Preprocess()
        images = [load_image(x, preprocess) if isinstance(x, (str, os.PathLike)) else np.asarray(x)
                  for x in images_or_paths]
        if not images:
            raise ValueError("predict() got no images: pass file paths or (224, 224, 3) uint8 images.")
        for i, image in enumerate(images):
            if image.shape != (weights.IMAGE_SIZE, weights.IMAGE_SIZE, 3) or image.dtype != np.uint8:
                raise ValueError(
                    f"predict() needs file paths or model-ready (224, 224, 3) uint8 images; item {i} "
                    f"has shape {image.shape} and dtype {image.dtype}. Pass the file's path, or make "
                    f"the image with imaging.load_image()."
                )
        return np.stack(images)

    def export(self, folder) -> Path:
        """Teachable Machine's Keras export: ``keras_model.h5`` and ``labels.txt`` ("0 normal").

        The model's input is (N, 224, 224, 3) float32 scaled ``x / 127 - 1``.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.keras_model().save(folder / "keras_model.h5")
        (folder / "labels.txt").write_text("".join(f"{i} {name}\n" for i, name in enumerate(self.classes)))
        return folder


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _preprocess_record(preprocess) -> dict | None:
    return asdict(preprocess) if is_dataclass(preprocess) else None


def _preprocess_from_record(record: dict | None):
    from .imaging import Preprocess

    if record is None:
        return None
    return Preprocess(**{key: tuple(v) if isinstance(v, list) else v for key, v in record.items()})


def _full_model(backbone_model, n_classes: int, head_weights=None):
    """Backbone + Teachable Machine's head as one Keras model (``head_weights`` optional)."""
    import keras

    inputs = keras.Input((weights.IMAGE_SIZE, weights.IMAGE_SIZE, 3), name="image")
    hidden = keras.layers.Dense(HIDDEN_UNITS, activation="relu", name="dense_hidden")(
        backbone_model(inputs, training=False))
    outputs = keras.layers.Dense(n_classes, activation="softmax", use_bias=False, name="dense_classes")(hidden)
    model = keras.Model(inputs, outputs, name="teachable_machine")
    if head_weights is not None:
        model.get_layer("dense_hidden").set_weights(head_weights[:2])
        model.get_layer("dense_classes").set_weights(head_weights[2:])
    return model


# ---- training -----------------------------------------------------------------------------------


def train(
    dataset,
    *,
    epochs: int = 50,
    learning_rate: float = 0.001,
    batch_size: int = 16,
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
        Teachable Machine's "Advanced" settings (defaults 50, 0.001, 16).
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
        Print a progress bar (one step per epoch) and, at the end, the summary.
    """
    started = time.perf_counter()
    _check_settings(epochs, learning_rate, batch_size, split, test_fraction, fine_tune_blocks, early_stopping)
    labels = np.asarray(dataset.labels(), dtype=np.int64)
    classes = tuple(dataset.classes)
    train_index, test_index = _split(dataset, labels, split, seed, test_fraction)
    _check_split(classes, labels, train_index, test_index)
    fit_index = _oversampled(train_index, labels, seed) if oversample else train_index
    sample_weight = _sample_weights(class_weight, classes, labels, train_index)
    settings = dict(epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, seed=seed,
                    patience=_patience(early_stopping), on_epoch=on_epoch, progress=progress)
    if fine_tune_blocks:
        outcome = _fine_tune(dataset, labels, fit_index, test_index, sample_weight, fine_tune_blocks, **settings)
    else:
        features = embed(dataset, progress=progress)
        outcome = _train_head(features, labels, len(classes), fit_index, test_index, sample_weight, **settings)
    history, test_probabilities, head_weights, fine_tuned = outcome
    result = TrainingResult(
        classes=classes,
        params=dict(epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, seed=seed,
                    split=split, test_fraction=test_fraction, class_weight=_jsonable(class_weight),
                    oversample=oversample, fine_tune_blocks=fine_tune_blocks,
                    early_stopping=early_stopping, epochs_kept=len(history["loss"]),
                    preprocessing=_describe(dataset.preprocess), backbone=backbone_id()),
        history=history, train_index=train_index, test_index=test_index,
        train_labels=labels[train_index], test_labels=labels[test_index],
        test_probabilities=test_probabilities, test_ids=[dataset.items[i].id for i in test_index],
        head_weights=head_weights, seconds=time.perf_counter() - started,
        preprocess=dataset.preprocess, dataset=dataset, fine_tuned_model=fine_tuned,
    )
    if progress:
        print(result.summary())
    return result


def _check_settings(epochs, learning_rate, batch_size, split, test_fraction, fine_tune_blocks,
                    early_stopping) -> None:
    problems = []
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        problems.append(f"epochs must be a whole number >= 1 (got {epochs!r})")
    if not (isinstance(learning_rate, numbers.Real) and learning_rate > 0):
        problems.append(f"learning_rate must be > 0 (got {learning_rate!r}); Teachable Machine uses 0.001")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        problems.append(f"batch_size must be a whole number >= 1 (got {batch_size!r}); try 16")
    if split not in SPLITS:
        problems.append(f"split must be one of {SPLITS} (got {split!r})")
    if not (isinstance(test_fraction, numbers.Real) and 0 < test_fraction < 1):
        problems.append(f"test_fraction must lie between 0 and 1 (got {test_fraction!r}); "
                        f"Teachable Machine holds out 0.15")
    if not (isinstance(fine_tune_blocks, (int, np.integer)) and 0 <= fine_tune_blocks <= BACKBONE_BLOCKS):
        problems.append(f"fine_tune_blocks must be between 0 and {BACKBONE_BLOCKS} (got {fine_tune_blocks!r})")
    if early_stopping is not True and early_stopping is not False and not (
            isinstance(early_stopping, int) and early_stopping >= 1):
        problems.append(f"early_stopping must be True, False or a patience >= 1 (got {early_stopping!r})")
    if problems:
        raise ValueError("Cannot train: " + "; ".join(problems) + ".")


def _split(dataset, labels, split: str, seed: int, test_fraction: float):
    from .datasets import patient_split, teachable_split

    if split == "patient":
        return patient_split(dataset, seed, test_fraction)
    return teachable_split(labels, seed, test_fraction)


def _check_split(classes, labels, train_index, test_index) -> None:
    counts = np.bincount(labels[train_index], minlength=len(classes))
    empty = [name for name, n in zip(classes, counts) if n == 0]
    if len(classes) < 2 or empty or len(test_index) == 0:
        what = (f"{len(classes)} class(es)" if len(classes) < 2 else
                f"no training images for {empty}" if empty else "an empty test set")
        raise ValueError(
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
        raise ValueError(
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


def _describe(preprocess) -> str:
    describe = getattr(preprocess, "describe", None)
    return describe() if callable(describe) else str(preprocess)


class _EpochLog:
    """Per-epoch bookkeeping shared by both trainers: history, callback, progress bar, stopping."""

    def __init__(self, epochs: int, patience: int | None, on_epoch, progress: bool):
        from tqdm.auto import tqdm

        self.history = {key: [] for key in HISTORY_KEYS}
        self.patience, self.on_epoch = patience, on_epoch
        self.bar = tqdm(total=epochs, unit="epoch", desc="Training", disable=not progress)
        self.best_loss, self.best_epoch = math.inf, 0

    def add(self, **values) -> bool:
        """Record one epoch; True when early stopping says stop."""
        for key in HISTORY_KEYS:
            self.history[key].append(float(values[key]))
        epoch = len(self.history["loss"])
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{values['loss']:.3f}", acc=f"{values['accuracy']:.3f}",
                             test_acc=f"{values['test_accuracy']:.3f}", refresh=False)
        if self.on_epoch is not None:
            self.on_epoch(epoch, self.history)
        improved = values["test_loss"] < self.best_loss
        if improved:
            self.best_loss, self.best_epoch = values["test_loss"], epoch
        return self.patience is not None and epoch - self.best_epoch >= self.patience

    def close(self) -> dict:
        """The history to keep: up to the best epoch when early stopping restored it."""
        self.bar.close()
        if self.patience is not None:
            for values in self.history.values():
                del values[self.best_epoch :]
        return self.history


def _train_head(features, labels, n_classes, fit_index, test_index, sample_weight, *, epochs,
                learning_rate, batch_size, seed, patience, on_epoch, progress):
    """The head on cached embeddings: NumPy mini-batch Adam, reshuffled every epoch."""
    from threadpoolctl import threadpool_limits

    head = Head(features.shape[1], n_classes, seed=seed, learning_rate=learning_rate)
    shuffle = np.random.default_rng([seed, 3])
    test_x, test_y = features[test_index], labels[test_index]
    log = _EpochLog(epochs, patience, on_epoch, progress)
    best = (head.get_weights(), None)
    with threadpool_limits(1, user_api="blas"):  # small matrices: threads cost more than they give
        for _ in range(epochs):
            order = shuffle.permutation(fit_index)
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


def _fine_tune(dataset, labels, fit_index, test_index, sample_weight, blocks, *, epochs,
               learning_rate, batch_size, seed, patience, on_epoch, progress):
    """End-to-end Keras training with the last ``blocks`` backbone blocks unfrozen (no cache)."""
    import keras

    warnings.warn(
        f"Fine-tuning {blocks} backbone block(s) runs MobileNetV2 forwards and backwards on every "
        f"image every epoch: expect minutes, not seconds (the embedding cache cannot help).",
        stacklevel=3,
    )
    keras.utils.set_random_seed(seed)
    backbone_model = weights.build_backbone()
    _unfreeze_last_blocks(backbone_model, blocks)
    head = Head(weights.EMBEDDING_SIZE, len(dataset.classes), seed=seed)
    model = _full_model(backbone_model, len(dataset.classes), head.get_weights())
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, **ADAM),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    eye = np.eye(len(dataset.classes), dtype=np.float32)
    test_x = scale(np.stack([dataset.image(i) for i in test_index]))
    test_y = eye[labels[test_index]]
    log = _EpochLog(epochs, patience, on_epoch, progress)

    class Logger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if log.add(accuracy=logs["accuracy"], loss=logs["loss"],
                       test_accuracy=logs["val_accuracy"], test_loss=logs["val_loss"]):
                self.model.stop_training = True

    callbacks = [Logger()]
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True))
    model.fit(scale(np.stack([dataset.image(i) for i in fit_index])), eye[labels[fit_index]],
              sample_weight=None if sample_weight is None else sample_weight[fit_index],
              batch_size=batch_size, epochs=epochs, shuffle=True, validation_data=(test_x, test_y),
              callbacks=callbacks, verbose=0)
    history = log.close()
    head_weights = model.get_layer("dense_hidden").get_weights() + model.get_layer("dense_classes").get_weights()
    return history, np.asarray(model.predict(test_x, verbose=0)), head_weights, model


def _unfreeze_last_blocks(backbone_model, blocks: int) -> None:
    """Make the last ``blocks`` blocks and the final 1x1 convolution trainable (batch norms stay frozen)."""
    first = BACKBONE_BLOCKS - blocks + 1
    backbone_model.trainable = True
    for layer in backbone_model.layers:
        name = layer.name
        in_block = name.startswith("block_") and int(name.split("_")[1]) >= first
        is_norm = "BatchNormalization" in type(layer).__name__
        layer.trainable = (in_block or name == "Conv_1") and not is_norm
