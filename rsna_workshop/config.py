"""What the workshop reads from its environment: where data and caches live, and whether to go online.

Everything generated or downloaded lives under one data folder: ``$RSNA_WORKSHOP_DATA`` when set,
else the ``data/`` folder of a source checkout, else ``~/rsna_workshop_data``.
``RSNA_WORKSHOP_OFFLINE=1`` forbids every network access (weights and project downloads).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "RSNA_WORKSHOP_DATA"
OFFLINE_ENV = "RSNA_WORKSHOP_OFFLINE"


def in_checkout() -> bool:
    """True when the package runs from a source checkout (``pyproject.toml`` beside it)."""
    return (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "rsna_workshop").is_dir()


def data_dir() -> Path:
    """The folder for generated data, downloads and caches (created on demand by its users)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if in_checkout():
        return PROJECT_ROOT / "data"
    return Path.home() / "rsna_workshop_data"


def cache_dir() -> Path:
    """Backbone embeddings and other derived files."""
    return data_dir() / "cache"


def cohort_dir() -> Path:
    """The built-in synthetic head CT cohort, in the RSNA Kaggle layout."""
    return data_dir() / "synthetic"


def downloads_dir() -> Path:
    """Files fetched from the internet (the original workshop's project files)."""
    return data_dir() / "downloads"


def offline() -> bool:
    """True when ``RSNA_WORKSHOP_OFFLINE`` is set to anything but "" or "0": never go online."""
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")
