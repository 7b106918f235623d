"""A finished classifier scored on images it never saw during training: a locked test set.

Teachable Machine's "test" slices are looked at after every epoch, and whoever picks the number
of epochs or the learning rate by them is tuning on them: in machine-learning terms they are a
validation set. A locked test set is kept apart from the start and scored once, at the end.

>>> development, locked = (dataset.subset(i) for i in split(dataset, "patient", seed=0))  # doctest: +SKIP
>>> final = score(train(development, seed=0).classifier, locked)                        # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets import Dataset
from ..errors import DataError
from .classifier import Classifier
from .embeddings import embed


@dataclass
class Scores:
    """A classifier's class probabilities for every image of a data set, with the true labels.

    It has the attributes the evaluation and figure functions read from a training result
    (``classes``, ``positive``, ``test_labels``, ``test_probabilities``, ``test_ids``,
    ``test_images()``), so a locked test set is judged and shown like any test set.
    """

    classifier: Classifier
    dataset: Dataset
    test_labels: np.ndarray
    test_probabilities: np.ndarray

    @property
    def classes(self) -> tuple[str, ...]:
        return self.classifier.classes

    @property
    def positive(self) -> str | None:
        return self.classifier.positive

    @property
    def test_ids(self) -> list[str]:
        return [item.id for item in self.dataset.items]

    def test_images(self, positions=None) -> np.ndarray:
        """Model-ready images of the scored set (all, or at ``positions``)."""
        return self.dataset.images(positions)


def score(classifier: Classifier, dataset: Dataset) -> Scores:
    """``classifier``'s probabilities for every image of ``dataset`` (embeddings from the cache)."""
    if tuple(dataset.classes) != tuple(classifier.classes):
        raise DataError(f"The model knows the classes {list(classifier.classes)} but '{dataset.name}' has "
                        f"{list(dataset.classes)}: score it on images labelled with the same classes.")
    if classifier.fine_tuned is not None:
        probabilities = classifier.predict(dataset.images())
    else:
        probabilities = classifier.probabilities(embed(dataset))
    return Scores(classifier, dataset, dataset.labels(), np.asarray(probabilities, dtype=np.float32))
