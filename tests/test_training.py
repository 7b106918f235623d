"""Teachable Machine's model: the NumPy head, the embedding cache, training, the classifier and its record."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from helpers import make_class_folders, separable_image
from PIL import Image

from rsna_workshop import cli, evaluation
from rsna_workshop.datasets import Dataset, from_folder
from rsna_workshop.errors import DataError, ImageError, MissingFileError, SettingsError
from rsna_workshop.model import Classifier, TrainingResult, backbone, embeddings, head, train, training
from rsna_workshop.model.history import HISTORY_KEYS


def folder_data(root, counts=(20, 20), classes=("normal", "hemorrhage"), name="fake") -> Dataset:
    """Separable pictures in class folders, each item with a patient (seven patients)."""
    data = from_folder(make_class_folders(root / name, counts, classes))
    items = [replace(item, patient_id=f"P{k % 7}") for k, item in enumerate(data.items)]
    return replace(data, items=tuple(items))


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
def pictures(tmp_path_factory):
    """A folder for the module's class folders."""
    return tmp_path_factory.mktemp("pictures")


@pytest.fixture(scope="module")
def dataset(pictures):
    return folder_data(pictures)


@pytest.fixture(scope="module")
def result(data_dir, dataset):
    return train(dataset, epochs=15, seed=0)


# ---- fast tests: no backbone --------------------------------------------------------------------


def test_scale_is_teachable_machines_x_over_127_minus_1():
    scaled = embeddings.scale(np.array([0, 127, 254, 255], np.uint8))
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, [-1.0, 0.0, 1.0, 255 / 127 - 1], rtol=0, atol=1e-7)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_head_has_teachable_machines_parameter_count(n_classes):
    numpy_head = head.Head(1280, n_classes, seed=0)
    assert numpy_head.count_params() == 1280 * 100 + 100 + 100 * n_classes
    assert [w.shape for w in numpy_head.get_weights()] == [(1280, 100), (100,), (100, n_classes)]
    assert not numpy_head.bias_1.any()  # biases start at zero


def test_variance_scaling_is_tensorflow_js_truncated_normal():
    # TensorFlow.js cuts a normal of SD sqrt(1/fan_in) at two SDs and does not widen it again:
    # the SD of a standard normal cut at +-2 is 0.8796.
    values = head.variance_scaling(1280, (1280, 100), np.random.default_rng(0))
    assert values.std() == pytest.approx(0.87962566 * math.sqrt(1 / 1280), rel=0.01)
    assert np.abs(values).max() <= 2 * math.sqrt(1 / 1280) + 1e-6
    assert np.abs(values).max() > 1.99 * math.sqrt(1 / 1280)
    assert abs(values.mean()) < 1e-3


def test_head_starts_each_layer_from_its_own_fan_in():
    # The output layer's fan-in is the 100 hidden units, not the 1280 inputs.
    start = head.Head(1280, 50, seed=0)
    assert start.kernel_1.std() == pytest.approx(0.87962566 * math.sqrt(1 / 1280), rel=0.02)
    assert start.kernel_2.std() == pytest.approx(0.87962566 * math.sqrt(1 / head.HIDDEN_UNITS), rel=0.05)
    assert np.abs(start.kernel_2).max() <= 2 * math.sqrt(1 / head.HIDDEN_UNITS) + 1e-6
    assert not start.bias_1.any()


def _keras_head(numpy_head: head.Head, n_classes: int):
    import keras

    model = keras.Sequential([
        keras.Input((1280,)),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(n_classes, activation="softmax", use_bias=False),
    ])
    model.set_weights(numpy_head.get_weights())
    model.compile(keras.optimizers.Adam(0.001, **head.ADAM), "categorical_crossentropy")
    return model


@pytest.mark.slow
def test_numpy_head_follows_keras_adam_step_for_step():
    rng = np.random.default_rng(0)
    x = rng.normal(0.5, 0.5, (200, 1280)).clip(0).astype(np.float32)  # ReLU-like embeddings
    labels = rng.integers(0, 3, 200)
    numpy_head = head.Head(1280, 3, seed=1)
    model = _keras_head(numpy_head, 3)
    order = rng.permutation(200)
    batches = np.array_split(order, range(16, 200, 16))
    keras_losses = [float(model.train_on_batch(x[b], np.eye(3, dtype=np.float32)[labels[b]]))
                    for b in batches]
    accuracy, loss = head.fit_epoch(numpy_head, x, labels, order, batch_size=16)
    for ours, theirs in zip(numpy_head.get_weights(), model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
    assert numpy_head.steps == len(batches) == 13
    assert loss == pytest.approx(np.average(keras_losses, weights=[len(b) for b in batches]), rel=1e-5)
    assert 0.2 < accuracy < 0.8  # random labels: about chance during the first epoch
    np.testing.assert_allclose(numpy_head.probabilities(x), model.predict(x, verbose=0), atol=1e-5)


def test_bad_settings_are_refused_with_what_to_do(pictures):
    data = folder_data(pictures, counts=(6, 6), name="small")
    with pytest.raises(SettingsError, match=r"epochs must be a whole number >= 1 \(got 0\).*batch_size"):
        train(data, epochs=0, batch_size=0)
    with pytest.raises(SettingsError, match="split must be one of"):
        train(data, split="random")
    with pytest.raises(DataError, match=r"no training images for \['hemorrhage'\].*add images"):
        train(folder_data(pictures, counts=(10, 1), name="lonely"))
    with pytest.raises(SettingsError, match="class_weight must be"):
        train(data, class_weight={"stroke": 2.0})
    with pytest.raises(SettingsError, match=r"test_fraction must lie between 0 and 1 \(got 15\).*0\.15"):
        train(data, test_fraction=15)
    with pytest.raises(SettingsError, match=r"learning_rate must be > 0 \(got '0\.001'\)"):
        train(data, learning_rate="0.001")
    with pytest.raises(SettingsError, match=r"fine_tune_blocks must be between 0 and 16 \(got '2'\)"):
        train(data, fine_tune_blocks="2")


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


def test_embedding_keys_follow_file_bytes_and_preprocessing(tmp_path, monkeypatch):
    monkeypatch.setenv("RSNA_WORKSHOP_DATA", str(tmp_path / "data"))
    data = folder_data(tmp_path, counts=(3, 3))
    digests = embeddings.FileDigests(tmp_path / "data" / "cache")
    with embeddings.ImageReader(data) as reader:
        keys = [digests.digest(item, reader) for item in data.items]
    assert len(set(keys)) == 6  # every file differs
    digests.save()
    remembered = embeddings.FileDigests(tmp_path / "data" / "cache")
    monkeypatch.setattr(embeddings.ImageReader, "read_bytes", lambda self, item: 1 / 0)
    with embeddings.ImageReader(data) as reader:  # a new process: from the memo, without reading
        assert [remembered.digest(item, reader) for item in data.items] == keys
    monkeypatch.undo()
    changed = data.items[0].source
    changed.write_bytes(changed.read_bytes() + b"\0")  # a changed file is hashed again
    with embeddings.ImageReader(data) as reader:
        assert embeddings.FileDigests(tmp_path / "data" / "cache").digest(data.items[0], reader) != keys[0]


@pytest.mark.slow
def test_cache_means_the_backbone_never_runs_twice_on_an_image(data_dir, pictures, backbone_calls):
    dataset = folder_data(pictures, counts=(6, 5), name="cache")
    first = embeddings.embed(dataset, batch_size=4)
    assert sum(backbone_calls) == 11 and first.shape == (11, 1280) and first.dtype == np.float32
    backbone_calls.clear()
    again = embeddings.embed(dataset)
    assert backbone_calls == []
    np.testing.assert_array_equal(again, first)
    bigger = folder_data(pictures, counts=(8, 5), name="cache")  # two new images, eleven cached
    embeddings.embed(bigger)
    assert sum(backbone_calls) == 2
    backbone_calls.clear()
    fresh = embeddings.embed(dataset, cache=False)
    assert sum(backbone_calls) == 11
    np.testing.assert_allclose(fresh, first, atol=1e-4)
    colour = embeddings.embed(dataset.with_preprocess(replace(dataset.preprocess, color_code=True)))
    assert sum(backbone_calls) == 22  # another preprocessing is another picture: embedded anew
    np.testing.assert_allclose(colour, first, atol=1e-4)  # (PNGs have no HU: the same picture)


@pytest.mark.slow
def test_retraining_with_other_settings_never_touches_the_backbone(result, dataset, backbone_calls):
    other = train(dataset, epochs=3, learning_rate=0.01, seed=5)
    assert backbone_calls == []
    assert len(other.history["loss"]) == 3


@pytest.mark.slow
def test_teachable_split_sizes_and_learning(result):
    # ceil(15 % of 20) = 3 test images per class
    assert len(result.test_index) == 6 and len(result.train_index) == 34
    assert set(result.train_index).isdisjoint(result.test_index)
    assert np.bincount(result.test_labels).tolist() == [3, 3]
    assert [len(result.history[key]) for key in HISTORY_KEYS] == [15] * 4
    assert result.history["test_accuracy"][-1] == 1.0  # the fake classes are separable
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.test_probabilities.shape == (6, 2)
    np.testing.assert_allclose(result.test_probabilities.sum(axis=1), 1, atol=1e-6)


@pytest.mark.slow
def test_three_unequal_classes_split_per_class(data_dir, pictures):
    three = folder_data(pictures, counts=(10, 20, 7), classes=("normal", "subdural", "epidural"), name="three")
    out = train(three, epochs=2)
    assert out.classes == ("epidural", "normal", "subdural")  # a folder's classes: alphabetical
    assert np.bincount(out.test_labels).tolist() == [2, 2, 3]  # ceil(1.05), ceil(1.5), ceil(3)
    assert evaluation.result_confusion(out).shape == (3, 3) and out.positive is None


@pytest.mark.slow
def test_patient_split_keeps_each_patient_on_one_side(result, dataset):
    out = train(dataset, epochs=1, split="patient")
    patients = np.array(dataset.patient_ids())
    assert set(patients[out.train_index]).isdisjoint(patients[out.test_index])
    assert len(out.test_index) >= math.ceil(0.15 * 40) and out.params["split"] == "patient"


@pytest.fixture
def epoch_orders(monkeypatch) -> list:
    """The order of training images the head is given in each epoch, from then on."""
    orders = []
    real_fit_epoch = training.fit_epoch

    def recording(head_, features, labels, order, *args):
        orders.append(np.array(order))
        return real_fit_epoch(head_, features, labels, order, *args)

    monkeypatch.setattr(training, "fit_epoch", recording)
    return orders


@pytest.mark.slow
def test_images_come_in_one_shuffled_order_every_epoch_as_in_teachable_machine(result, dataset, epoch_orders):
    orders = epoch_orders
    train(dataset, epochs=3, seed=0)
    assert len(orders) == 3 and all(np.array_equal(order, orders[0]) for order in orders)
    assert sorted(orders[0]) == sorted(result.train_index)
    assert not np.array_equal(orders[0], np.sort(orders[0]))  # shuffled once, not in file order


def test_the_seed_decides_the_one_training_order(epoch_orders):
    orders = epoch_orders
    rng = np.random.default_rng(0)
    features, labels = rng.random((40, 1280), dtype=np.float32), np.arange(40) % 2
    for seed in (0, 1):
        training._train_head(features, labels, 2, np.arange(30), np.arange(30, 40), None, epochs=2,
                             learning_rate=0.001, batch_size=16, seed=seed, patience=None, on_epoch=None,
                             progress=False)
    assert np.array_equal(orders[0], orders[1]) and np.array_equal(orders[2], orders[3])
    assert sorted(orders[2]) == list(range(30)) and not np.array_equal(orders[0], orders[2])


@pytest.mark.slow
def test_same_seed_same_numbers_other_seed_other_numbers(result, dataset):
    again = train(dataset, epochs=15, seed=0)
    assert again.history == result.history
    np.testing.assert_array_equal(again.test_probabilities, result.test_probabilities)
    other = train(dataset, epochs=15, seed=1)
    assert other.history["loss"] != result.history["loss"]


@pytest.mark.slow
def test_settings_come_from_the_data_set_unless_given(data_dir, dataset):
    slow = dataset.with_settings(dataset.settings.replace(epochs=4, learning_rate=0.0005))
    out = train(slow, epochs=None, seed=0)
    assert (out.params["epochs"], out.params["learning_rate"], len(out.history["loss"])) == (4, 0.0005, 4)
    assert train(slow, epochs=2).params["epochs"] == 2


@pytest.mark.slow
def test_json_is_consistent_with_the_confusion_matrix(result):
    record = json.loads(json.dumps(evaluation.report(result)))
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
    assert set(record["history"]) == set(HISTORY_KEYS)
    assert (record["epochs"], record["batch_size"], record["learning_rate"]) == (15, 16, 0.001)
    assert record["positive"] == "hemorrhage"


@pytest.mark.slow
def test_on_epoch_and_early_stopping_restore_the_best_epoch(result, dataset):
    seen = []
    out = train(dataset, epochs=200, learning_rate=0.01, early_stopping=3,
                         on_epoch=lambda epoch, history: seen.append((epoch, len(history["loss"]))))
    assert seen[:3] == [(1, 1), (2, 2), (3, 3)]
    kept = len(out.history["loss"])
    assert len(seen) == kept + 3 < 200  # stopped three epochs after the best one
    assert out.history["test_loss"][-1] == min(out.history["test_loss"])


@pytest.mark.slow
def test_imbalance_options_change_training(data_dir, pictures):
    dataset = folder_data(pictures, counts=(20, 6), name="imbalanced")
    plain = train(dataset, epochs=2)
    weighted = train(dataset, epochs=2, class_weight="balanced")
    assert weighted.history["loss"] != plain.history["loss"]
    assert weighted.params["class_weight"] == "balanced"
    oversampled = train(dataset, epochs=2, oversample=True)
    assert oversampled.history["loss"] != plain.history["loss"]
    assert len(oversampled.train_index) == len(plain.train_index)  # the split itself is unchanged


@pytest.mark.slow
def test_save_load_round_trip_predicts_the_same_and_keeps_its_images(result, tmp_path):
    folder = result.save(tmp_path / "model")
    loaded = TrainingResult.load(folder)
    assert loaded.classes == result.classes and loaded.history == result.history
    assert loaded.positive == "hemorrhage" and loaded.classifier.preprocess == result.classifier.preprocess
    np.testing.assert_array_equal(evaluation.result_confusion(loaded), evaluation.result_confusion(result))
    np.testing.assert_allclose(loaded.test_probabilities, result.test_probabilities, atol=1e-7)
    np.testing.assert_array_equal(loaded.test_images([0, 1]), result.test_images([0, 1]))
    np.testing.assert_allclose(loaded.classifier.predict(result.test_images([0, 1, 2])),
                               result.test_probabilities[:3], atol=1e-5)
    alone = Classifier.load(folder)  # what `rsna-workshop predict` reads
    assert alone.classes == result.classes and alone.positive == "hemorrhage"


@pytest.mark.slow
def test_a_reloaded_result_keeps_each_slice_s_findings_and_mask(result, tmp_path):
    mask = tmp_path / "mask.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(mask)
    items = [replace(item, findings=("subdural", "subarachnoid"), mask=mask) if i == 0 else item
             for i, item in enumerate(result.dataset.items)]
    marked = replace(result, dataset=replace(result.dataset, items=tuple(items)))
    loaded = TrainingResult.load(marked.save(tmp_path / "model"))
    assert loaded.dataset.items[0].findings == ("subdural", "subarachnoid")
    assert loaded.dataset.items[0].mask == mask and loaded.dataset.items[1].mask is None

    saved = tmp_path / "model" / training.ITEMS  # as results were saved before: five fields per item
    record = json.loads(saved.read_text())
    saved.write_text(json.dumps({**record, "items": [row[:5] for row in record["items"]]}))
    older = TrainingResult.load(tmp_path / "model").dataset.items[0]
    assert older.findings == () and older.mask is None and older.id == items[0].id


@pytest.mark.slow
def test_a_result_whose_images_are_gone_says_so_instead_of_crashing(result, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(result.dataset.items[0].source.parents[1], copy)
    moved = replace(result, dataset=from_folder(copy))
    folder = moved.save(tmp_path / "model")
    shutil.rmtree(copy)
    loaded = TrainingResult.load(folder)
    assert loaded.dataset is None
    with pytest.raises(DataError, match="This result has no images.*Train again"):
        loaded.test_images()


def test_loading_a_folder_without_a_model_says_how_to_make_one(tmp_path):
    with pytest.raises(MissingFileError, match="no saved model.*--save"):
        TrainingResult.load(tmp_path)


@pytest.mark.slow
def test_predict_reads_image_files_and_refuses_wrong_arrays(result, tmp_path):
    image = result.test_images([0])[0]
    Image.fromarray(image).save(tmp_path / "slice.png")
    from_file = result.classifier.predict(tmp_path / "slice.png")
    np.testing.assert_allclose(from_file, result.classifier.predict(image), atol=1e-5)
    np.testing.assert_allclose(from_file[0], result.test_probabilities[0], atol=1e-5)
    with pytest.raises(ImageError, match=r"has shape \(10, 10, 3\)"):
        result.classifier.predict(np.zeros((10, 10, 3), np.uint8))
    assert result.retest() == result.history["test_accuracy"][-1] == result.retest()


@pytest.mark.slow
def test_keras_model_and_export_give_the_same_probabilities(result, tmp_path):
    import keras

    model = result.classifier.keras_model()
    assert model is result.classifier.keras_model()  # built once
    head_params = sum(layer.count_params() for layer in model.layers[-2:])
    assert head_params == 1280 * 100 + 100 + 100 * 2
    assert model.count_params() == backbone.BACKBONE_PARAMS + head_params
    result.classifier.export(tmp_path / "export")
    assert (tmp_path / "export" / "labels.txt").read_text() == "0 hemorrhage\n1 normal\n"
    loaded = keras.models.load_model(tmp_path / "export" / "keras_model.h5", compile=False)
    np.testing.assert_allclose(loaded.predict(embeddings.scale(result.test_images()), verbose=0),
                               result.test_probabilities, atol=1e-4)


@pytest.mark.slow
def test_fine_tuning_warns_and_trains_end_to_end(data_dir, pictures):
    dataset = folder_data(pictures, counts=(8, 8), name="fine")
    with pytest.warns(UserWarning, match="expect minutes"):
        out = train(dataset, epochs=1, fine_tune_blocks=1)
    tuned = out.classifier.fine_tuned
    assert len(out.history["loss"]) == 1 and tuned is not None
    trainable = tuned.get_layer("mobilenetv2_0.35_embedding").trainable_weights
    assert trainable and all("block_16" in w.path or "Conv_1" in w.path for w in trainable)
    assert out.classifier.predict(dataset.image(0)).shape == (1, 2)


# ---- the command line ---------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_train_writes_the_json_contract_and_predict_prints_probabilities(
        data_dir, pictures, tmp_path, capsys):
    folder = pictures / "fake"
    code = cli.main(["train", str(folder), "--epochs", "4", "--seed", "2", "--json",
                     str(tmp_path / "run.json"), "--save", str(tmp_path / "model")])
    assert code == 0
    record = json.loads((tmp_path / "run.json").read_text())
    assert (record["epochs"], record["seed"], record["batch_size"], len(record["history"]["loss"])) == (4, 2, 16, 4)
    assert record["classes"] == ["hemorrhage", "normal"] and record["positive"] == "hemorrhage"
    assert "Trained 4 epochs (batch 16, learning rate 0.001, seed 2)" in capsys.readouterr().out
    Image.fromarray(separable_image(0, 0)).save(tmp_path / "new.png")  # a "normal" picture
    assert cli.main(["predict", str(tmp_path / "model"), str(tmp_path / "new.png")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(str(tmp_path / "new.png") + ": normal ") and "hemorrhage" in line


def test_cli_reports_user_errors_in_one_line_and_bugs_with_their_traceback(tmp_path, monkeypatch, capsys):
    folder = make_class_folders(tmp_path / "cli", counts=(4, 4))
    assert cli.main(["train", str(folder), "--epochs", "0"]) == 2
    error = capsys.readouterr().err
    assert "epochs must be a whole number >= 1 (got 0)" in error and "Traceback" not in error
    monkeypatch.setattr(cli, "open_data", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.main(["train", str(folder)])
