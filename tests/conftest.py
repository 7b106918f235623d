"""Shared test setup: offline weights from ../shared when present, and a throwaway data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rsna_workshop import config
from rsna_workshop.model import backbone as weights

SHARED_WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "weights" / weights.WEIGHTS_FILENAME

if not os.environ.get(weights.WEIGHTS_ENV) and SHARED_WEIGHTS.is_file():
    os.environ[weights.WEIGHTS_ENV] = str(SHARED_WEIGHTS)


@pytest.fixture
def weights_file() -> Path:
    """The real MobileNetV2 weights file; tests that need it are skipped where it is absent."""
    path = os.environ.get(weights.WEIGHTS_ENV)
    if not path or not Path(path).is_file():
        pytest.skip(f"set {weights.WEIGHTS_ENV} to the MobileNetV2 weights file")
    return Path(path)


@pytest.fixture
def no_weights(monkeypatch, tmp_path):
    """A machine with no weights anywhere and no network."""
    monkeypatch.delenv(weights.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv(config.OFFLINE_ENV, "1")
    return tmp_path
