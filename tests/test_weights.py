"""The backbone weights: where they are found, how they are installed, what they compute."""

import os
import subprocess
import sys

import pytest

from rsna_workshop import config
from rsna_workshop.errors import InvalidWeightsError, MissingFileError, WeightsUnavailableError
from rsna_workshop.model import backbone as weights


def test_env_variable_comes_first(monkeypatch, tmp_path, no_weights):
    local = tmp_path / "local.h5"
    local.write_bytes(b"x")
    cached = weights.keras_cache_file()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"y")
    monkeypatch.setenv(weights.WEIGHTS_ENV, str(local))
    source = weights.resolve_weights()
    assert (source.path, source.origin) == (local.resolve(), weights.WEIGHTS_ENV)
    assert source.keras_argument == str(local.resolve())


def test_keras_cache_second(no_weights):
    cached = weights.keras_cache_file()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"y")
    source = weights.resolve_weights()
    assert (source.path, source.origin) == (cached, "Keras cache")


def test_download_third_when_online(no_weights, monkeypatch):
    monkeypatch.setattr(weights, "network_available", lambda: True)
    source = weights.resolve_weights()
    assert source.path is None and source.keras_argument == "imagenet"


def test_missing_everything_names_file_url_and_both_remedies(no_weights):
    with pytest.raises(WeightsUnavailableError) as error:
        weights.resolve_weights()
    message = str(error.value)
    assert weights.WEIGHTS_FILENAME in message
    assert weights.WEIGHTS_URL in message
    assert weights.WEIGHTS_ENV in message and "rsna-workshop weights install" in message


def test_env_variable_pointing_nowhere_is_an_error(no_weights, monkeypatch, tmp_path):
    monkeypatch.setenv(weights.WEIGHTS_ENV, str(tmp_path / "nope.h5"))
    with pytest.raises(WeightsUnavailableError, match="no file is there"):
        weights.resolve_weights()


def test_offline_switch_reports_no_network(monkeypatch):
    monkeypatch.setenv(config.OFFLINE_ENV, "1")
    assert weights.network_available() is False


@pytest.mark.slow
def test_install_good_file_lands_in_keras_cache(weights_file, no_weights):
    target = weights.install_weights(weights_file)
    assert target == weights.keras_cache_file()
    assert target.read_bytes() == weights_file.read_bytes()
    assert weights.resolve_weights().origin == "Keras cache"


@pytest.mark.slow
def test_install_wrong_file_is_refused_and_nothing_installed(no_weights, tmp_path):
    import h5py

    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as handle:
        handle.create_dataset("conv", data=[1.0, 2.0])
    with pytest.raises(InvalidWeightsError, match="does not load into MobileNetV2"):
        weights.install_weights(wrong)
    assert not weights.keras_cache_file().exists()


def test_install_missing_file(no_weights, tmp_path):
    with pytest.raises(MissingFileError, match="No weights file"):
        weights.install_weights(tmp_path / "absent.h5")


@pytest.mark.slow
def test_backbone_gives_1280_embedding_with_real_weights(weights_file):
    import numpy as np

    backbone = weights.build_backbone(weights_file)
    assert backbone.count_params() == weights.BACKBONE_PARAMS
    assert not backbone.trainable
    images = np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)).astype("float32")
    embedding = backbone.predict(images, verbose=0)
    assert embedding.shape == (2, weights.EMBEDDING_SIZE)
    # the reference: Keras' own MobileNetV2 with the same file, its last feature maps averaged
    full = weights.mobilenet(str(weights_file))
    maps = full.predict(images, verbose=0)
    assert maps.shape == (2, 7, 7, 1280)
    np.testing.assert_allclose(embedding, maps.mean(axis=(1, 2)), rtol=1e-4, atol=1e-5)
    assert 0 <= embedding.min() and embedding.max() <= 6  # ReLU6 activations, averaged


def test_cli_without_weights_or_network_fails_with_the_message(no_weights):
    env = dict(os.environ)
    code = "from rsna_workshop.model import build_backbone; build_backbone()"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert weights.WEIGHTS_FILENAME in run.stderr and "weights install" in run.stderr
