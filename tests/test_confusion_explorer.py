"""The confusion-matrix explorer: each button opens exactly the slices behind its cell."""

from __future__ import annotations

import io

import numpy as np
from helpers import fake_result
from PIL import Image
from sklearn import metrics as skm

from rsna_workshop.show.confusion_explorer import confusion_explorer


def test_each_cell_button_shows_the_count_and_opens_its_slices():
    result = fake_result((12, 9))
    result.test_probabilities[12:18] = [[0.9, 0.1], [0.6, 0.4], [0.8, 0.2], [0.7, 0.3], [0.55, 0.45], [0.95, 0.05]]
    box = confusion_explorer(result, shown=4)
    predicted = result.test_probabilities.argmax(axis=1)
    matrix = skm.confusion_matrix(result.test_labels, predicted)
    for (i, j), button in box.buttons.items():
        assert button.description == f"{matrix[i, j]} {'right' if i == j else 'wrong'}"
    box.buttons[1, 0].click()  # truly hemorrhage, called normal: the missed bleeds
    missed = np.flatnonzero((result.test_labels == 1) & (predicted == 0))
    most_confident = missed[np.argsort(-result.test_probabilities[missed, 0])][:4]
    assert len(missed) >= 6 and [case["id"] for case in box.cases] == [result.test_ids[j] for j in most_confident]
    assert all((case["true"], case["predicted"]) == ("hemorrhage", "normal") for case in box.cases)
    confidence = [case["probabilities"]["normal"] for case in box.cases]
    assert confidence == sorted(confidence, reverse=True)
    assert f"Truly hemorrhage, called normal: {len(missed)} slices" in box.status.value
    assert Image.open(io.BytesIO(box.image.value)).size[0] > 800


def test_an_empty_cell_says_so():
    result = fake_result((6, 6))
    result.test_probabilities = np.eye(2)[result.test_labels] * 0.9 + 0.05  # no mistakes
    box = confusion_explorer(result)
    assert box.open_cell(0, 1) == [] and "called hemorrhage: 0 slices" in box.status.value
