"""A locked test set, scored once at the end with the finished classifier."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from helpers import make_class_folders

from rsna_workshop import evaluation
from rsna_workshop.datasets import from_folder, split
from rsna_workshop.errors import DataError
from rsna_workshop.model import Classifier, score, train


@pytest.mark.slow
def test_a_locked_patient_set_is_scored_like_any_test_set(tmp_path, monkeypatch):
    monkeypatch.setenv("RSNA_WORKSHOP_DATA", str(tmp_path / "data"))
    data = from_folder(make_class_folders(tmp_path / "pictures", (24, 24)))
    data = replace(data, items=tuple(replace(item, patient_id=f"P{k % 8}") for k, item in enumerate(data.items)))
    development, locked = (data.subset(i) for i in split(data, "patient", seed=0, test_fraction=0.25))
    patients = {item.patient_id for item in locked.items}
    assert patients.isdisjoint(item.patient_id for item in development.items)
    result = train(development, epochs=10, seed=0)
    final = score(result.classifier, locked)
    assert final.test_probabilities.shape == (len(locked), 2) and final.positive == "hemorrhage"
    assert final.test_ids == [item.id for item in locked.items]
    np.testing.assert_allclose(final.test_probabilities, result.classifier.predict(locked.images()), atol=1e-5)
    assert evaluation.proportion(final).estimate == 1.0  # separable pictures, new patients
    assert final.test_images([0]).shape == (1, 224, 224, 3)


def test_scoring_on_other_classes_is_refused(tmp_path):
    classifier = Classifier(("normal", "hemorrhage"), [np.zeros((1280, 100)), np.zeros(100), np.zeros((100, 2))])
    other = from_folder(make_class_folders(tmp_path / "other", (2, 2), ("cat", "dog")))
    with pytest.raises(DataError, match=r"knows the classes \['normal', 'hemorrhage'\] but 'other' has"):
        score(classifier, other)
