"""The figures show the numbers the metrics compute, and Grad-CAM looks somewhere that depends on
the image."""

from __future__ import annotations


import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.decomposition import PCA

from helpers import fake_result, make_rsna

from rsna_workshop import evaluation
from rsna_workshop.datasets import from_rsna
from rsna_workshop.errors import ImageError, SettingsError
from rsna_workshop.model import build_backbone, project_2d, saliency
from rsna_workshop.show import figures, pictures, style


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_under_the_hood_shows_the_confusion_matrix_and_per_class_accuracy():
    result = fake_result()
    fig = figures.under_the_hood(result)
    predicted = result.test_probabilities.argmax(axis=1)
    expected = skm.confusion_matrix(result.test_labels, predicted)
    np.testing.assert_array_equal(fig.data["confusion_matrix"], expected)
    np.testing.assert_allclose(fig.data["per_class_accuracy"],
                               skm.recall_score(result.test_labels, predicted, average=None))
    assert fig.data["n_test"].tolist() == [12, 9]
    table_ax, heatmap_ax, accuracy_ax, loss_ax = fig.axes
    # The counts written on the heatmap, row by row, are the matrix.
    assert texts(heatmap_ax) == [str(c) for c in expected.ravel()]
    assert [t.get_text() for t in heatmap_ax.get_yticklabels()] == ["normal", "hemorrhage"]
    cells = table_ax.tables[0].get_celld()
    accuracy = expected.diagonal() / expected.sum(axis=1)
    assert [cells[r, 1].get_text().get_text() for r in (1, 2)] == [f"{a:.2f}" for a in accuracy]
    assert [cells[r, 2].get_text().get_text() for r in (1, 2)] == ["12", "9"]
    train_line, test_line = accuracy_ax.get_lines()
    np.testing.assert_allclose(test_line.get_ydata(), result.history["test_accuracy"])
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_ydata(), result.history["loss"])


def test_under_the_hood_handles_three_classes_and_a_class_without_test_cases():
    result = fake_result((6, 0, 5), ("normal", "intraparenchymal", "subdural"))
    fig = figures.under_the_hood(result)
    assert fig.data["confusion_matrix"].shape == (3, 3)
    cells = fig.axes[0].tables[0].get_celld()
    assert cells[2, 1].get_text().get_text() == "-" and cells[2, 2].get_text().get_text() == "0"


def test_metrics_figure_carries_the_wilson_intervals():
    result = fake_result()
    fig = figures.metrics_figure(result)
    expected = evaluation.binary_metrics(result.test_labels, result.test_probabilities[:, 1])
    assert fig.data["metrics"] == expected
    assert fig.data["positive"] == "hemorrhage"
    sens = expected.sensitivity
    shown = " ".join(texts(fig.axes[0]))
    assert f"{sens.successes}/{sens.n}" in shown and f"({sens.low:.0%}-{sens.high:.0%})" in shown


def test_metrics_figure_says_n_a_for_a_ppv_with_no_positive_calls():
    result = fake_result()
    result.test_probabilities = np.tile([0.9, 0.1], (len(result.test_labels), 1))  # never "hemorrhage"
    shown = " ".join(texts(figures.metrics_figure(result).axes[0]))
    assert "n/a: no cases" in shown and "nan" not in shown


def test_roc_figure_auc_equals_scikit_learn_and_marks_the_operating_point():
    result = fake_result()
    fig = figures.roc_figure(result, threshold=0.5)
    scores = result.test_probabilities[:, 1]
    auc = skm.roc_auc_score(result.test_labels, scores)
    assert fig.data["roc"].auc == pytest.approx(auc)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    low, high = fig.data["roc"].auc_interval()
    assert legend[1] == f"model (AUC {auc:.2f}, 95% CI {low:.2f} to {high:.2f})"
    assert legend[2] == "operating point: threshold 0.5"
    m = evaluation.binary_metrics(result.test_labels, scores)
    assert fig.data["operating_point"] == (1 - m.specificity.estimate, m.sensitivity.estimate)


def test_threshold_figure_counts_follow_the_threshold():
    result = fake_result()
    scores = result.test_probabilities[:, 1]
    low, high = figures.threshold_figure(result, 0.2), figures.threshold_figure(result, 0.8)
    for fig, t in ((low, 0.2), (high, 0.8)):
        called = scores >= t
        expected = skm.confusion_matrix(result.test_labels, called.astype(int))
        np.testing.assert_array_equal(fig.data["metrics"].confusion_matrix, expected)
        assert texts(fig.axes[0]) == [str(c) for c in expected.ravel()]
    assert low.data["metrics"].sensitivity.estimate > high.data["metrics"].sensitivity.estimate
    assert low.data["metrics"].specificity.estimate < high.data["metrics"].specificity.estimate


def test_threshold_figure_names_a_low_threshold_exactly():
    fig = figures.threshold_figure(fake_result(), 0.046)
    assert fig.axes[0].get_title() == "Called 'hemorrhage' when p >= 0.046"
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert "operating point: threshold 0.046" in legend


def test_prevalence_figure_shows_bayes_ppv_and_natural_frequencies():
    fig = figures.prevalence_figure(0.9, 0.9, 0.5, 0.06)
    assert fig.data["ppv"] == pytest.approx({"Workshop test set": 0.9,
                                             "Emergency department": 54 / 148})
    ed = fig.data["per_1000"]["Emergency department"]
    assert ed == pytest.approx({"true_alarms": 54, "false_alarms": 94, "missed": 6})
    assert any("54 of 148" in t for t in texts(fig.axes[1]))


def test_result_prevalence_figure_uses_the_test_set_prevalence():
    result = fake_result()
    fig = figures.result_prevalence_figure(result)
    m = evaluation.result_metrics(result)
    assert fig.data["ppv"]["Workshop test set"] == pytest.approx(m.ppv.estimate)


def test_misclassified_figure_lists_exactly_the_mistakes_most_confident_first():
    result = fake_result()
    predicted = result.test_probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != result.test_labels)
    fig = pictures.misclassified_figure(result, n=50)
    cases = fig.data["cases"]
    assert sorted(c["id"] for c in cases) == sorted(f"ID_{j:04d}" for j in wrong)
    confidence = [max(c["probabilities"].values()) for c in cases]
    assert confidence == sorted(confidence, reverse=True)
    assert all(c["true"] != c["predicted"] for c in cases)
    assert len(pictures.misclassified_figure(result, n=2).data["cases"]) == 2


def test_misclassified_figure_says_when_there_are_no_mistakes():
    result = fake_result()
    result.test_probabilities = np.eye(2)[result.test_labels]
    fig = pictures.misclassified_figure(result)
    assert fig.data["cases"] == [] and texts(fig.axes[0])[0] == "Misclassified test slices: none"


def test_embedding_figure_pca_equals_scikit_learn_and_tsne_is_seeded():
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1], 20)
    embeddings = rng.normal(size=(40, 16)) + 3 * labels[:, None]
    fig = pictures.embedding_figure(embeddings, labels, ("normal", "hemorrhage"))
    expected = PCA(n_components=2, random_state=0).fit_transform(embeddings.astype(np.float32))
    np.testing.assert_allclose(fig.data["coordinates"], expected, rtol=1e-5)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "normal (20)", "hemorrhage (20)"]
    a = project_2d(embeddings, "tsne", random_state=1)
    b = project_2d(embeddings, "tsne", random_state=1)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(SettingsError, match="'pca' or 'tsne'"):
        project_2d(embeddings, "umap")


@pytest.fixture(scope="module")
def small_model():
    """A real MobileNetV2 (random weights) with a 2-class softmax head, wrapped as the trainer
    does: the backbone is a nested model."""
    import keras

    keras.utils.set_random_seed(0)
    backbone = build_backbone(random_weights=True)
    inputs = keras.Input((224, 224, 3))
    outputs = keras.layers.Dense(2, activation="softmax")(backbone(inputs))
    return keras.Model(inputs, outputs)


def ct_like(seed: int, shift: int) -> np.ndarray:
    """A bright ring (skull) around gray matter with a blob whose place depends on ``shift``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:224, :224]
    r = np.hypot(yy - 112, xx - 112)
    image = np.where(r < 90, 110, 0) + np.where((r > 90) & (r < 100), 250, 0)
    image = image + 90 * (np.hypot(yy - 112 - shift, xx - 112 + shift) < 18)
    image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    return np.repeat(image[..., None], 3, axis=2)


@pytest.mark.slow
def test_gradcam_map_has_the_image_shape_and_changes_with_the_input(small_model):
    first = saliency.gradcam(small_model, ct_like(0, -40))
    second = saliency.gradcam(small_model, ct_like(0, 40))
    for cam in (first, second):
        assert cam.shape == (224, 224) and cam.dtype == np.float32
        assert cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    assert np.abs(first - second).mean() > 0.01
    other_class = saliency.gradcam(small_model, ct_like(0, -40), class_index=1)
    assert not np.allclose(first, other_class)


@pytest.mark.slow
def test_gradcam_figure_explains_each_case_with_its_predicted_class(small_model):
    result = fake_result((2, 1), model=small_model)
    fig = pictures.gradcam_figure(result, n=2)
    assert len(fig.data["maps"]) == 2 and fig.data["maps"][0].shape == (224, 224)
    case = fig.data["cases"][0]
    k = int(result.test_probabilities[0].argmax())
    assert case["id"] == "ID_0000" and case["true"] == "normal"
    assert case["explained"] == result.classes[k]
    assert case["probability"] == pytest.approx(result.test_probabilities[0, k])
    direct = saliency.gradcam(small_model, result.test_images([0])[0], class_index=k)
    np.testing.assert_allclose(fig.data["maps"][0], direct, atol=1e-5)


@pytest.mark.slow
def test_gradcam_is_the_same_for_a_sequential_wrapper(small_model):
    import keras

    backbone, head = small_model.layers[1], small_model.layers[2]
    sequential = keras.Sequential([keras.Input((224, 224, 3)), backbone, head])
    image = ct_like(1, 20)
    np.testing.assert_allclose(saliency.gradcam(sequential, image),
                               saliency.gradcam(small_model, image), atol=1e-5)


def test_gradcam_figure_refuses_indices_and_classes_it_does_not_have():
    result = fake_result((2, 1))
    with pytest.raises(SettingsError, match=r"indices \[3\] are not positions.*has 3 slices: use 0 to 2"):
        pictures.gradcam_figure(result, indices=[0, 3])
    with pytest.raises(SettingsError, match=r"class_index 2 is not a class: use 0 to 1"):
        pictures.gradcam_figure(result, class_index=2)


def test_gradcam_names_the_missing_layer():
    import keras

    inputs = keras.Input((224, 224, 3))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(inputs)))
    with pytest.raises(SettingsError, match="no layer named 'out_relu'"):
        saliency.gradcam(model, np.zeros((224, 224, 3), np.uint8))
    with pytest.raises(ImageError, match=r"\(224, 224, 3\) RGB"):
        saliency.scale_for_model(np.zeros((100, 100), np.uint8))


def test_percent_never_rounds_doubt_away():
    shown = [style.percent(p) for p in (0.999, 0.995, 0.5, 0.004)]
    assert shown == [">99%", ">99%", "50%", "<1%"]


def test_samples_figure_captions_each_bleed_with_its_subtypes(tmp_path):
    data = from_rsna(make_rsna(tmp_path / "rsna"), "hemorrhage")
    fig = pictures.samples_figure(data, per_class=8)
    normal_row, bleed_row = fig.axes[:8], fig.axes[8:]
    assert all(texts(ax) == [""] for ax in normal_row)
    shown = {item.id: item.findings for item in data.items}
    captions = [texts(ax)[0] for ax in bleed_row]
    assert captions == ["\n".join(shown[i]) for i in fig.data["ids"]["hemorrhage"]]
    assert all(captions) and {"subdural", "intraparenchymal"} <= set(captions)
