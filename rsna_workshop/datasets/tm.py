"""Teachable Machine image project files (``.tm``), and the original workshop's published ones.

A ``.tm`` file is a zip archive holding ``manifest.json`` (``{"type": "image", "version": ...,
"appdata": {"trainEpochs": ..., "trainBatchSize": ..., "trainLearningRate": ...}}``) and one image
per sample named ``<ClassName>-!-<index>.jpg`` (or ``.png``). Reading never extracts anything to
disk: members are read into memory, after checks against path tricks and zip bombs.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path

from .. import paths
from ..weights import OFFLINE_ENV, offline
from .core import TM_DEFAULTS, DataError, Dataset, Item
from .folder import readable, require_classes, warn_skipped

MANIFEST = "manifest.json"
SAMPLE_NAME = re.compile(r"^(?P<label>.+)-!-(?P<index>\d+)\.(?:jpe?g|png)$", re.IGNORECASE)
MAX_TOTAL_BYTES = 2 * 1024**3  # all members together, uncompressed
MAX_RATIO = 100  # uncompressed / compressed for one member larger than 1 MB (images barely compress)
#: Written into manifests (Teachable Machine reads ``type`` and ``appdata``; this is our tag).
PROJECT_VERSION = "2.4.5"
APPDATA_KEYS = {"epochs": "trainEpochs", "batch_size": "trainBatchSize", "learning_rate": "trainLearningRate"}

#: The original workshop's Teachable Machine projects (RSNA Spotlight 2021, Prevedello and
#: Kitamura), published in github.com/kitamura-felipe/RSNASpotlight2021 under ``experiments/``.
#: Their experiments 4 and 5 are our lesson 5's 3-class grayscale and colour-coded variants.
PROJECT_BASE_URL = "https://github.com/kitamura-felipe/RSNASpotlight2021/raw/main/experiments/"
PROJECTS = {
    "experiment1": "30 normal + 30 hemorrhage (lesson 1)",
    "experiment2": "1000 normal + 30 hemorrhage (lesson 2)",
    "experiment3": "1000 normal + 1000 hemorrhage (lessons 3 and 4)",
    "experiment4": "normal, intraparenchymal, subdural, 80 each, grayscale (lesson 5)",
    "experiment5": "normal, intraparenchymal, subdural, 80 each, colour-coded (lesson 5)",
}


def project_url(name: str) -> str:
    """Where the original workshop's project ``name`` is published."""
    return f"{PROJECT_BASE_URL}{name}.tm"


def _unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) is not None or ".." in parts


@lru_cache(maxsize=8)
def _archive(path: str, mtime_ns: int, size: int) -> zipfile.ZipFile:
    """An open archive, kept so that reading 2,000 samples does not re-parse it 2,000 times."""
    return zipfile.ZipFile(path)


def read_member(path: Path, member: str) -> bytes:
    """The bytes of one member of a checked archive."""
    stat = path.stat()
    return _archive(str(path), stat.st_mtime_ns, stat.st_size).read(member)


def _open_checked(path: Path) -> zipfile.ZipFile:
    """Open ``path`` as a zip and refuse unsafe names and zip bombs, with clear messages."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(
            f"'{path}' is not a readable Teachable Machine project (a .tm file is a zip archive): "
            f"{error}. It may be truncated: download or save it again."
        ) from error
    infos = archive.infolist()
    unsafe = [info.filename for info in infos if _unsafe(info.filename)]
    total = sum(info.file_size for info in infos)
    bombs = [
        info.filename
        for info in infos
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1)
    ]
    problem = None
    if unsafe:
        problem = f"member names that leave the archive's folder {unsafe[:5]}"
    elif total > MAX_TOTAL_BYTES:
        problem = f"{total / 1e6:,.1f} MB uncompressed (the limit is {MAX_TOTAL_BYTES / 1e6:,.1f} MB)"
    elif bombs:
        problem = f"members that expand more than {MAX_RATIO}x {bombs[:5]} (a zip bomb?)"
    if problem:
        archive.close()
        raise DataError(f"Refusing '{path}': it holds {problem}. Nothing was extracted.")
    return archive


def _manifest(archive: zipfile.ZipFile, path: Path) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise DataError(
            f"'{path}' has no {MANIFEST}, so it is not a Teachable Machine project file. In Teachable "
            f"Machine, use 'Save project to file' (or 'Download project as file')."
        ) from None
    except (ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"The {MANIFEST} in '{path}' cannot be read: {error}.") from error
    kind = manifest.get("type") if isinstance(manifest, dict) else None
    if kind != "image":
        raise DataError(
            f"'{path}' is a Teachable Machine {kind or 'unknown'} project; only image projects "
            f"(type 'image') can be used here."
        )
    return manifest


def _train_defaults(manifest: dict, path: Path) -> dict:
    appdata = manifest.get("appdata") or {}
    defaults = dict(TM_DEFAULTS)
    for ours, theirs in APPDATA_KEYS.items():
        if theirs in appdata:
            value = appdata[theirs]
            wanted = float if ours == "learning_rate" else int
            try:
                number = wanted(value)
            except (TypeError, ValueError):
                number = -1
            if number <= 0 or (wanted is int and number != value):
                raise DataError(f"'{path}' sets {theirs} to {value!r}; it must be a positive number.")
            defaults[ours] = number
    return defaults


def read_tm(path: str | Path) -> Dataset:
    """A data set from a Teachable Machine image project file.

    Classes come in the order of their first sample in the file; the file's epochs, batch size
    and learning rate become ``train_defaults``. Samples that are not readable images are skipped
    with one warning that lists them; a class left with no images is an error.

    >>> data = read_tm("experiment1.tm")   # doctest: +SKIP
    >>> data.train_defaults                 # doctest: +SKIP
    {'epochs': 50, 'batch_size': 16, 'learning_rate': 0.001}
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"No Teachable Machine project file at '{path}'.")
    with _open_checked(path) as archive:
        manifest = _manifest(archive, path)
        samples, ignored = [], []
        for info in archive.infolist():
            match = SAMPLE_NAME.match(info.filename)
            if match:
                samples.append((match["label"], int(match["index"]), info.filename))
            elif info.filename != MANIFEST and not info.is_dir():
                ignored.append(info.filename)
        classes = list(dict.fromkeys(label for label, _, _ in samples))
        samples.sort(key=lambda sample: (classes.index(sample[0]), sample[1]))
        items, skipped = [], []
        for label, _, member in samples:
            if readable(archive.read(member), member):
                items.append(Item(member, path, label, member=member))
            else:
                skipped.append(member)
    if ignored:
        warnings.warn(f"Ignored {len(ignored)} member(s) of '{path.name}' that are not samples: "
                      f"{ignored[:10]}")
    warn_skipped(skipped, path.name)
    require_classes(classes, items, path.name)
    return Dataset(tuple(classes), items, name=path.stem, train_defaults=_train_defaults(manifest, path))


def write_tm(
    dataset: Dataset,
    path: str | Path,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    quality: int = 95,
) -> Path:
    """Write ``dataset`` as a Teachable Machine image project file (its model-ready images as JPEG).

    Hyperparameters default to ``dataset.train_defaults``. The file is written whole or not at all.
    Open it in Teachable Machine with "Open project from file".
    """
    from PIL import Image

    path = Path(path)
    bad = [name for name in dataset.classes if not name or re.search(r"[/\\]|-!-", name)]
    if bad:
        raise DataError(f"Class names {bad} cannot be written to a .tm file (no '/', '\\' or '-!-').")
    settings = dict(dataset.train_defaults)
    settings.update({k: v for k, v in (("epochs", epochs), ("batch_size", batch_size),
                                       ("learning_rate", learning_rate)) if v is not None})
    manifest = {
        "type": "image",
        "version": PROJECT_VERSION,
        "appdata": {APPDATA_KEYS[key]: settings[key] for key in APPDATA_KEYS},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            archive.writestr(MANIFEST, json.dumps(manifest), compress_type=zipfile.ZIP_DEFLATED)
            index = {name: 0 for name in dataset.classes}
            for i, item in enumerate(dataset.items):
                buffer = io.BytesIO()
                Image.fromarray(dataset.image(i)).save(buffer, format="JPEG", quality=quality)
                archive.writestr(f"{item.label}-!-{index[item.label]}.jpg", buffer.getvalue())
                index[item.label] += 1
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


def download_project(name: str, *, progress: bool = True) -> Path:
    """The original workshop's project file ``name`` (see :data:`PROJECTS`), downloaded once into
    the data folder's ``downloads/``. Offline, a clear error says what to do instead."""
    if name not in PROJECTS:
        raise DataError(f"Unknown project '{name}'. Published projects: {', '.join(PROJECTS)}.")
    target = paths.downloads_dir() / f"{name}.tm"
    if target.is_file():
        return target
    url = project_url(name)
    offline_hint = (
        f"Cannot download '{name}' from {url}"
        + " ({reason}). Without internet, use the built-in cohort instead (rsna-workshop train "
        f"experiment1 ... experiment5), or copy the file by hand to {target}."
    )
    if offline():
        raise DataError(offline_hint.format(reason=f"{OFFLINE_ENV} is set"))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            _copy_with_progress(response, out, f"{name}.tm", progress)
        if not zipfile.is_zipfile(partial):
            raise DataError(f"What {url} sent is not a .tm (zip) file; try again later.")
        os.replace(partial, target)
    except (urllib.error.URLError, OSError) as error:
        raise DataError(offline_hint.format(reason=getattr(error, "reason", error))) from error
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return target


def _copy_with_progress(response, out, label: str, progress: bool) -> None:
    from tqdm.auto import tqdm

    size = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
    with tqdm(total=int(size) if size else None, unit="B", unit_scale=True, desc=label,
              disable=not progress) as bar:
        while chunk := response.read(1 << 16):
            out.write(chunk)
            bar.update(len(chunk))
