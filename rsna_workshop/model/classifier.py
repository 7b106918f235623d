"""A trained classifier: the frozen backbone, the head's weights, the classes and the preprocessing.

:class:`Classifier` is what training produces and what a user keeps: it predicts on new images,
saves and loads itself, builds the whole model in Keras (for saliency) and exports it in
Teachable Machine's Keras format. The record of how it was trained is the
:class:`~rsna_workshop.model.training.TrainingResult` that holds it.

>>> classifier = Classifier.load("my_model")                   # doctest: +SKIP
>>> classifier.predict("ID_0a1b2c3d4.dcm")                    # doctest: +SKIP
array([[0.12, 0.88]], dtype=float32)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ImageError, MissingFileError
from ..imaging import MODEL_SIZE, Preprocess, load_image
from .backbone import EMBEDDING_SIZE, shared_backbone
from .embeddings import run_backbone, scale
from .head import HIDDEN_UNITS, Head

SAVED = ("classifier.json", "head.npz")


@dataclass
class Classifier:
    """Teachable Machine's model after training.

    Attributes
    ----------
    classes : tuple of str
        The classes, in the order of the model's outputs.
    head_weights : list of ndarray
        ``[kernel_1, bias_1, kernel_2]`` of the head (Keras' ``get_weights`` order).
    preprocess : Preprocess
        How a CT slice becomes the picture the model was trained on.
    positive : str or None
        The class that means "disease present".
    fine_tuned : keras.Model or None
        The whole Keras model, when the backbone was fine-tuned (then the shared frozen
        backbone does not apply).
    """

    classes: tuple[str, ...]
    head_weights: list[np.ndarray] = field(repr=False)
    preprocess: Preprocess = field(default_factory=Preprocess)
    positive: str | None = None
    fine_tuned: object = field(default=None, repr=False)
    _keras_model: object = field(default=None, init=False, repr=False, compare=False)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities (N, classes) of backbone embeddings (N, 1280)."""
        head = Head(EMBEDDING_SIZE, len(self.classes))
        head.set_weights(self.head_weights)
        return head.probabilities(np.asarray(embeddings, dtype=np.float32))

    def predict(self, images_or_paths) -> np.ndarray:
        """Class probabilities (N, classes) for images, as Teachable Machine's preview does.

        Accepts one or a list of file paths (PNG, JPEG or DICOM, read with the training
        preprocessing), model-ready (224, 224, 3) uint8 images, or an (N, 224, 224, 3) array.
        """
        images = self._model_ready(images_or_paths)
        if self.fine_tuned is not None:
            return np.asarray(self.fine_tuned(scale(images), training=False))
        return self.probabilities(run_backbone(images))

    def _model_ready(self, images_or_paths) -> np.ndarray:
        if isinstance(images_or_paths, (str, os.PathLike)) or (
                isinstance(images_or_paths, np.ndarray) and images_or_paths.ndim == 3):
            images_or_paths = [images_or_paths]
        images = [load_image(x, self.preprocess) if isinstance(x, (str, os.PathLike)) else np.asarray(x)
                  for x in images_or_paths]
        if not images:
            raise ImageError("predict() got no images: pass file paths or (224, 224, 3) uint8 images.")
        for i, image in enumerate(images):
            if image.shape != (MODEL_SIZE, MODEL_SIZE, 3) or image.dtype != np.uint8:
                raise ImageError(
                    f"predict() needs file paths or model-ready (224, 224, 3) uint8 images; item {i} "
                    f"has shape {image.shape} and dtype {image.dtype}. Pass the file's path, or make "
                    f"the image with imaging.load_image()."
                )
        return np.stack(images)

    def keras_model(self):
        """The whole model as Keras: (N, 224, 224, 3) float32 scaled ``x / 127 - 1`` -> softmax.

        Built once per classifier (the backbone takes seconds to build) and reused by later calls.
        """
        if self.fine_tuned is not None:
            return self.fine_tuned
        if self._keras_model is None:
            self._keras_model = full_model(shared_backbone(), len(self.classes), self.head_weights)
        return self._keras_model

    def save(self, folder) -> Path:
        """Write ``classifier.json``, ``head.npz`` (and ``model.keras`` after fine-tuning) to ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        record = {"classes": list(self.classes), "positive": self.positive,
                  "preprocess": self.preprocess.to_dict()}
        (folder / SAVED[0]).write_text(json.dumps(record, indent=1))
        np.savez(folder / SAVED[1], *self.head_weights)
        if self.fine_tuned is not None:
            self.fine_tuned.save(folder / "model.keras")
        return folder

    @classmethod
    def load(cls, folder) -> "Classifier":
        """Read a classifier written by :meth:`save`."""
        folder = Path(folder)
        if not all((folder / name).is_file() for name in SAVED):
            raise MissingFileError(
                f"'{folder}' holds no saved model ({' and '.join(SAVED)}). Save one with "
                f"`rsna-workshop train DATA --save {folder}` or result.save('{folder}')."
            )
        record = json.loads((folder / SAVED[0]).read_text())
        with np.load(folder / SAVED[1]) as data:
            head_weights = [data[f"arr_{i}"] for i in range(3)]
        fine_tuned = None
        if (folder / "model.keras").is_file():
            import keras  # deferred: TensorFlow takes seconds to import

            fine_tuned = keras.models.load_model(folder / "model.keras")
        return cls(tuple(record["classes"]), head_weights, Preprocess.from_dict(record["preprocess"]),
                   record.get("positive"), fine_tuned)

    def export(self, folder) -> Path:
        """Teachable Machine's Keras export: ``keras_model.h5`` and ``labels.txt`` ("0 normal").

        The model's input is (N, 224, 224, 3) float32 scaled ``x / 127 - 1``.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.keras_model().save(folder / "keras_model.h5")
        (folder / "labels.txt").write_text("".join(f"{i} {name}\n" for i, name in enumerate(self.classes)))
        return folder


def full_model(backbone_model, n_classes: int, head_weights=None):
    """Backbone + Teachable Machine's head as one Keras model (``head_weights`` optional)."""
    import keras  # deferred: TensorFlow takes seconds to import

    inputs = keras.Input((MODEL_SIZE, MODEL_SIZE, 3), name="image")
    hidden = keras.layers.Dense(HIDDEN_UNITS, activation="relu", name="dense_hidden")(
        backbone_model(inputs, training=False))
    outputs = keras.layers.Dense(n_classes, activation="softmax", use_bias=False, name="dense_classes")(hidden)
    model = keras.Model(inputs, outputs, name="teachable_machine")
    if head_weights is not None:
        model.get_layer("dense_hidden").set_weights(head_weights[:2])
        model.get_layer("dense_classes").set_weights(head_weights[2:])
    return model
