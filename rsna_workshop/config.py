"""What the workshop reads from its environment: where data and caches live, and whether to go online.

Everything generated or downloaded lives under one data folder: ``$RSNA_WORKSHOP_DATA`` when set,
else the ``data/`` folder of a source checkout, else ``~/rsna_workshop_data``.
``RSNA_WORKSHOP_OFFLINE=1`` forbids every network access (weights and project downloads).

In a classroom the data folder may be shared and read-only (one cohort for every attendee, see
``docs/classroom.md``). What a session writes then goes to its own *writable cache*
(:func:`cache_dir`): ``$RSNA_WORKSHOP_CACHE`` when set, else the data folder's ``cache/`` when
this user can write there, else ``~/.cache/rsna_workshop``. Embeddings are read first from the
writable cache, then from a *shared cache* that is never written (:func:`shared_cache_dir`):
``$RSNA_WORKSHOP_SHARED_CACHE`` when set, else the data folder's ``cache/`` when that is not the
writable cache. ``RSNA_WORKSHOP_BACKBONE_LOG`` names a file that gets one line per backbone
computation (how an instructor checks that a shared cache spares the attendees that work).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "RSNA_WORKSHOP_DATA"
OFFLINE_ENV = "RSNA_WORKSHOP_OFFLINE"
CACHE_ENV = "RSNA_WORKSHOP_CACHE"
SHARED_CACHE_ENV = "RSNA_WORKSHOP_SHARED_CACHE"
BACKBONE_LOG_ENV = "RSNA_WORKSHOP_BACKBONE_LOG"


def in_checkout() -> bool:
    """True when the package runs from a source checkout (``pyproject.toml`` beside it)."""
    return (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "rsna_workshop").is_dir()


def _env_path(name: str) -> Path | None:
    """The folder a variable names (``~`` and ``$HOME`` expanded: spawners pass them verbatim)."""
    value = os.environ.get(name)
    return Path(os.path.expandvars(value)).expanduser().resolve() if value else None


def data_dir() -> Path:
    """The folder for generated data and downloads (created on demand by its users)."""
    env = _env_path(DATA_ENV)
    if env:
        return env
    if in_checkout():
        return PROJECT_ROOT / "data"
    return Path.home() / "rsna_workshop_data"


def writable(folder: Path) -> bool:
    """True when this user can write in ``folder``, or create it (its nearest existing parent)."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def user_cache_home() -> Path:
    """This user's own cache folder: ``$XDG_CACHE_HOME/rsna_workshop`` or ``~/.cache/rsna_workshop``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "rsna_workshop"


def cache_dir() -> Path:
    """The writable cache: embeddings and file digests this session computes (see the module doc)."""
    env = _env_path(CACHE_ENV)
    if env:
        return env
    beside_data = data_dir() / "cache"
    return beside_data if writable(beside_data) else user_cache_home()


def shared_cache_dir() -> Path | None:
    """The read-only shared cache (see the module doc), or None when there is none."""
    env = _env_path(SHARED_CACHE_ENV)
    if env:
        return env
    beside_data = data_dir() / "cache"
    return beside_data if beside_data.is_dir() and beside_data != cache_dir() else None


def cohort_dir() -> Path:
    """The built-in synthetic head CT cohort, in the RSNA Kaggle layout."""
    return data_dir() / "synthetic"


def downloads_dir() -> Path:
    """Files fetched from the internet: in the data folder, or the writable cache when it is read-only."""
    beside_data = data_dir() / "downloads"
    return beside_data if writable(beside_data) else cache_dir() / "downloads"


def backbone_log() -> Path | None:
    """The file that records each backbone computation (``$RSNA_WORKSHOP_BACKBONE_LOG``), if set."""
    return _env_path(BACKBONE_LOG_ENV)


def offline() -> bool:
    """True when ``RSNA_WORKSHOP_OFFLINE`` is set to anything but "" or "0": never go online."""
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")
