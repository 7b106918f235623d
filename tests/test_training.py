"""Tests for training.py: Teachable Machine's model, the NumPy head, the embedding cache, results."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest

from rsna_workshop import cli, embeddings, training, weights
from rsna_workshop.imaging import Preprocess


@dataclass(frozen=True)
class FakeItem:
    id: str
    label: str
    patient_id: str


class FakeDataset:
    """The ``datasets.Dataset`` attributes training uses, on images drawn in memory.

    Class ``c`` has a bright square in colour channel ``c`` on dark noise, so the classes are
    separable and a trained model must reach full test accuracy.
    """

    def __init__(self, counts=(20, 20), classes=("normal", "hemorrhage"), tag="fake"):
        self.classes = tuple(classes)
        self.items = [FakeItem(f"{tag}-{name}-{k}", name, f"P{k % 7}")
                      for name, n in zip(self.classes, counts) for k in range(n)]
        self.preprocess = Preprocess()
        self.train_defaults = {"epochs": 50, "batch_size": 16, "learning_rate": 0.001}

    def labels(self):
        return np.array([self.classes.index(item.label) for item in self.items])

    def image(self, i):
        item = self.items[i]
        rng = np.random.default_rng(int(item.id.rsplit("-", 1)[1]) + 1000 * self.classes.index(item.label))
        image = rng.integers(0, 60, (224, 224, 3), dtype=np.uint8)
        image[60:160, 60:160, self.classes.index(item.label) % 3] += 150
        return image

    def content_key(self, i):
        return f"{self.items[i].id}-{self.preprocess.key}"

    def patient_ids(self):
        return [item.patient_id for item in self.items]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A fresh data folder (so a fresh embedding cache) for the whole module."""
    folder = tmp_path_factory.mktemp("data")
    patch = pytest.MonkeyPatch()
    patch.setenv("RSNA_WORKSHOP_DATA", str(folder))
    yield folder
    patch.undo()


@pytest.fixture
def backbone_calls(monkeypatch):
    """Counts the images that go through the backbone."""
    calls = []
    real = embeddings.run_backbone

    def counting(images):
        calls.append(len(images))
        return real(images)

    monkeypatch.setattr(embeddings, "run_backbone", counting)
    return calls


@pytest.fixture(scope="module")
def result(data_dir):
    return training.train(FakeDataset(), epochs=15, seed=0)


# ---- fast tests: no backbone --------------------------------------------------------------------


def test_scale_is_teachable_machines_x_over_127_minus_1():
    scaled = training.scale(np.array([0, 127, 254, 255], np.uint8))
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, [-1.0, 0.0, 1.0, 255 / 127 - 1], rtol=0, atol=1e-7)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_head_has_teachable_machines_parameter_count(n_classes):
    head = training.Head(1280, n_classes, seed=0)
    assert head.count_params() == 1280 * 100 + 100 + 100 * n_classes
    assert [w.shape for w in head.get_weights()] == [(1280, 100), (100,), (100, n_classes)]
    assert not head.bias_1.any()  # biases start at zero


def test_variance_scaling_is_truncated_normal_with_fan_in_variance():
    values = training.variance_scaling(1280, (1280, 100), np.random.default_rng(0))
    assert values.std() == pytest.approx(math.sqrt(1 / 1280), rel=0.02)
    assert np.abs(values).max() <= 2 * math.sqrt(1 / 1280) / 0.87962566103423978 + 1e-6
    assert abs(values.mean()) < 1e-3


def _keras_head(head: training.Head, n_classes: int):
    import keras

    model = keras.Sequential([
        keras.Input((1280,)),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(n_classes, activation="softmax", use_bias=False),
    ])
    model.set_weights(head.get_weights())
    model.compile(keras.optimizers.Adam(0.001, **training.ADAM), "categorical_crossentropy")
    return model


@pytest.mark.slow
def test_numpy_head_follows_keras_adam_step_for_step():
    rng = np.random.default_rng(0)
    x = rng.normal(0.5, 0.5, (200, 1280)).clip(0).astype(np.float32)  # ReLU-like embeddings
    labels = rng.integers(0, 3, 200)
    head = training.Head(1280, 3, seed=1)
    model = _keras_head(head, 3)
    order = rng.permutation(200)
    batches = np.array_split(order, range(16, 200, 16))
    keras_losses = [float(model.train_on_batch(x[b], np.eye(3, dtype=np.float32)[labels[b]]))
                    for b in batches]
    accuracy, loss = training.fit_epoch(head, x, labels, order, batch_size=16)
    for ours, theirs in zip(head.get_weights(), model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
    assert head.steps == len(batches) == 13
    assert loss == pytest.approx(np.average(keras_losses, weights=[len(b) for b in batches]), rel=1e-5)
    assert 0.2 < accuracy < 0.8  # random labels: about chance during the first epoch
    np.testing.assert_allclose(head.probabilities(x), model.predict(x, verbose=0), atol=1e-5)


def test_bad_settings_are_refused_with_what_to_do():
    with pytest.raises(ValueError, match=r"epochs must be a whole number >= 1 \(got 0\).*batch_size"):
        training.train(FakeDataset(), epochs=0, batch_size=0)
    with pytest.raises(ValueError, match="split must be one of"):
        training.train(FakeDataset(), split="random")
    with pytest.raises(ValueError, match=r"no training images for \['hemorrhage'\].*add images"):
        training.train(FakeDataset(counts=(10, 1)))
    with pytest.raises(ValueError, match="class_weight must be"):
        training.train(FakeDataset(), class_weight={"stroke": 2.0})
    with pytest.raises(ValueError, match=r"test_fraction must lie between 0 and 1 \(got 15\).*0\.15"):
        training.train(FakeDataset(), test_fraction=15)
    with pytest.raises(ValueError, match=r"learning_rate must be > 0 \(got '0\.001'\).*fine_tune_blocks"):
        training.train(FakeDataset(), learning_rate="0.001", fine_tune_blocks="2")


def test_embedding_store_reads_back_what_it_wrote_and_reports_missing_keys(tmp_path):
    store = embeddings.EmbeddingStore(tmp_path / "store")
    first = np.arange(2 * 1280, dtype=np.float32).reshape(2, 1280)
    store.write(["a", "b"], first)
    store.write(["c"], first[:1] * -1)
    out = np.zeros((4, 1280), np.float32)
    found = store.read(["c", "x", "b", "a"], out)
    assert found.tolist() == [True, False, True, True]
    np.testing.assert_array_equal(out[[0, 2, 3]], [-first[0], first[1], first[0]])
    assert not out[1].any()
    assert len(list((tmp_path / "store").glob("*.npz"))) == 2


# ---- with the real backbone ---------------------------------------------------------------------


@pytest.mark.slow
def test_cache_means_the_backbone_never_runs_twice_on_an_image(data_dir, backbone_calls):
    dataset = FakeDataset(counts=(6, 5), tag="cache")
    first = training.embed(dataset, batch_size=4)
    assert sum(backbone_calls) == 11 and first.shape == (11, 1280) and first.dtype == np.float32
    backbone_calls.clear()
    again = training.embed(dataset)
    assert backbone_calls == []
    np.testing.assert_array_equal(again, first)
    bigger = FakeDataset(counts=(8, 5), tag="cache")  # two new images, eleven cached
    training.embed(bigger)
    assert sum(backbone_calls) == 2
    backbone_calls.clear()
    fresh = training.embed(dataset, cache=False)
    assert sum(backbone_calls) == 11
    np.testing.assert_allclose(fresh, first, atol=1e-4)


@pytest.mark.slow
def test_retraining_with_other_settings_never_touches_the_backbone(result, backbone_calls):
    other = training.train(FakeDataset(), epochs=3, learning_rate=0.01, seed=5)
    assert backbone_calls == []
    assert len(other.history["loss"]) == 3


@pytest.mark.slow
def test_teachable_split_sizes_and_learning(result):
    # ceil(15 % of 20) = 3 test images per class
    assert len(result.test_index) == 6 and len(result.train_index) == 34
    assert set(result.train_index).isdisjoint(result.test_index)
    assert np.bincount(result.test_labels).tolist() == [3, 3]
    assert [len(result.history[key]) for key in training.HISTORY_KEYS] == [15] * 4
    assert result.history["test_accuracy"][-1] == 1.0  # the fake classes are separable
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.test_probabilities.shape == (6, 2)
    np.testing.assert_allclose(result.test_probabilities.sum(axis=1), 1, atol=1e-6)


@pytest.mark.slow
def test_three_unequal_classes_split_per_class(data_dir):
    dataset = FakeDataset(counts=(10, 20, 7), classes=("normal", "subdural", "epidural"))
    out = training.train(dataset, epochs=2)
    assert np.bincount(out.test_labels).tolist() == [2, 3, 2]  # ceil(1.5), ceil(3), ceil(1.05)
    assert out.confusion_matrix.shape == (3, 3)


@pytest.mark.slow
def test_patient_split_keeps_each_patient_on_one_side(result):
    dataset = FakeDataset()
    out = training.train(dataset, epochs=1, split="patient")
    patients = np.array(dataset.patient_ids())
    assert set(patients[out.train_index]).isdisjoint(patients[out.test_index])
    assert len(out.test_index) >= math.ceil(0.15 * 40) and out.params["split"] == "patient"


@pytest.mark.slow
def test_same_seed_same_numbers_other_seed_other_numbers(result):
    again = training.train(FakeDataset(), epochs=15, seed=0)
    assert again.history == result.history
    np.testing.assert_array_equal(again.test_probabilities, result.test_probabilities)
    other = training.train(FakeDataset(), epochs=15, seed=1)
    assert other.history["loss"] != result.history["loss"]


@pytest.mark.slow
def test_json_is_consistent_with_the_confusion_matrix(result):
    record = json.loads(json.dumps(result.to_dict()))
    for key in ("classes", "n_train", "n_test", "epochs", "learning_rate", "batch_size", "seed",
                "train_accuracy", "test_accuracy", "test_loss", "per_class_accuracy",
                "confusion_matrix", "history", "seconds"):
        assert key in record, key
    matrix = np.array(record["confusion_matrix"])
    assert matrix.sum() == record["n_test"] == 6 and record["n_train"] == 34
    assert record["test_accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert record["per_class_accuracy"] == {
        name: pytest.approx(matrix[i, i] / matrix[i].sum()) for i, name in enumerate(record["classes"])}
    assert record["train_accuracy"] == result.history["accuracy"][-1]
    assert set(record["history"]) == set(training.HISTORY_KEYS)
    assert (record["epochs"], record["batch_size"], record["learning_rate"]) == (15, 16, 0.001)


@pytest.mark.slow
def test_on_epoch_and_early_stopping_restore_the_best_epoch(result):
    seen = []
    out = training.train(FakeDataset(), epochs=200, learning_rate=0.01, early_stopping=3,
                         on_epoch=lambda epoch, history: seen.append((epoch, len(history["loss"]))))
    assert seen[:3] == [(1, 1), (2, 2), (3, 3)]
    kept = len(out.history["loss"])
    assert len(seen) == kept + 3 < 200  # stopped three epochs after the best one
    assert out.history["test_loss"][-1] == min(out.history["test_loss"])


@pytest.mark.slow
def test_imbalance_options_change_training(data_dir):
    dataset = FakeDataset(counts=(20, 6))
    plain = training.train(dataset, epochs=2)
    weighted = training.train(dataset, epochs=2, class_weight="balanced")
    assert weighted.history["loss"] != plain.history["loss"]
    assert weighted.params["class_weight"] == "balanced"
    oversampled = training.train(dataset, epochs=2, oversample=True)
    assert oversampled.history["loss"] != plain.history["loss"]
    assert len(oversampled.train_index) == len(plain.train_index)  # the split itself is unchanged


@pytest.mark.slow
def test_save_load_round_trip_predicts_the_same(result, tmp_path):
    loaded = training.TrainingResult.load(result.save(tmp_path / "model"))
    assert loaded.classes == result.classes and loaded.history == result.history
    np.testing.assert_array_equal(loaded.confusion_matrix, result.confusion_matrix)
    np.testing.assert_allclose(loaded.test_probabilities, result.test_probabilities, atol=1e-7)
    assert loaded.preprocess == result.preprocess and loaded.dataset is None
    images = np.stack([result.dataset.image(i) for i in result.test_index[:3]])
    np.testing.assert_allclose(loaded.predict(images), result.test_probabilities[:3], atol=1e-5)


def test_loading_a_folder_without_a_model_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved model.*--save"):
        training.TrainingResult.load(tmp_path)


@pytest.mark.slow
def test_predict_reads_image_files_and_refuses_wrong_arrays(result, tmp_path):
    from PIL import Image

    image = result.dataset.image(int(result.test_index[0]))
    Image.fromarray(image).save(tmp_path / "slice.png")
    from_file = result.predict(tmp_path / "slice.png")
    np.testing.assert_allclose(from_file, result.predict(image), atol=1e-5)
    np.testing.assert_allclose(from_file[0], result.test_probabilities[0], atol=1e-5)
    with pytest.raises(ValueError, match=r"has shape \(10, 10, 3\)"):
        result.predict(np.zeros((10, 10, 3), np.uint8))


@pytest.mark.slow
def test_keras_model_and_export_give_the_same_probabilities(result, tmp_path):
    import keras

    model = result.keras_model()
    head_params = sum(layer.count_params() for layer in model.layers[-2:])
    assert head_params == 1280 * 100 + 100 + 100 * 2
    assert model.count_params() == weights.BACKBONE_PARAMS + head_params
    result.export(tmp_path / "export")
    assert (tmp_path / "export" / "labels.txt").read_text() == "0 normal\n1 hemorrhage\n"
    loaded = keras.models.load_model(tmp_path / "export" / "keras_model.h5", compile=False)
    images = np.stack([result.dataset.image(i) for i in result.test_index])
    np.testing.assert_allclose(loaded.predict(training.scale(images), verbose=0),
                               result.test_probabilities, atol=1e-4)


@pytest.mark.slow
def test_fine_tuning_warns_and_trains_end_to_end(data_dir):
    dataset = FakeDataset(counts=(8, 8), tag="fine")
    with pytest.warns(UserWarning, match="expect minutes"):
        out = training.train(dataset, epochs=1, fine_tune_blocks=1)
    assert len(out.history["loss"]) == 1 and out.fine_tuned_model is not None
    trainable = out.fine_tuned_model.get_layer("mobilenetv2_0.35_embedding").trainable_weights
    assert trainable and all("block_16" in w.path or "Conv_1" in w.path for w in trainable)
    assert out.predict(dataset.image(0)).shape == (1, 2)


# ---- the command line ---------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_train_writes_the_json_contract_and_predict_prints_probabilities(
        data_dir, tmp_path, monkeypatch, capsys):
    from PIL import Image

    dataset = FakeDataset()
    import rsna_workshop.datasets as datasets

    monkeypatch.setattr(datasets, "open_data", lambda spec, classes=None, color_code=False:
                        (dataset, dict(dataset.train_defaults)))
    code = cli.main(["train", "fake", "--epochs", "4", "--seed", "2", "--json",
                     str(tmp_path / "run.json"), "--save", str(tmp_path / "model")])
    assert code == 0
    record = json.loads((tmp_path / "run.json").read_text())
    assert (record["epochs"], record["seed"], record["batch_size"], len(record["history"]["loss"])) == (4, 2, 16, 4)
    assert "Trained 4 epochs (batch 16, learning rate 0.001, seed 2)" in capsys.readouterr().out
    Image.fromarray(dataset.image(0)).save(tmp_path / "new.png")
    assert cli.main(["predict", str(tmp_path / "model"), str(tmp_path / "new.png")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(str(tmp_path / "new.png") + ": normal ") and "hemorrhage" in line


def test_cli_train_refuses_zero_epochs_instead_of_using_the_default(monkeypatch, capsys):
    import rsna_workshop.datasets as datasets

    dataset = FakeDataset()
    monkeypatch.setattr(datasets, "open_data", lambda spec, classes=None, color_code=False:
                        (dataset, dict(dataset.train_defaults)))
    assert cli.main(["train", "fake", "--epochs", "0"]) == 2
    assert "epochs must be a whole number >= 1 (got 0)" in capsys.readouterr().err
