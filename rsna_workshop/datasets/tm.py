"""Teachable Machine image project files (``.tm``): read and write.

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
import warnings
import zipfile
from pathlib import Path

from ..errors import DataError
from .core import (TEACHABLE_MACHINE, ZIP_DAMAGE, Dataset, ImageReader, Item, TrainingSettings, guess_positive,
                   not_permitted)
from .folder import readable, require_classes, warn_skipped

MANIFEST = "manifest.json"
SAMPLE_NAME = re.compile(r"^(?P<label>.+)-!-(?P<index>\d+)\.(?:jpe?g|png)$", re.IGNORECASE)
MAX_TOTAL_BYTES = 2 * 1024**3  # all members together, uncompressed
MAX_RATIO = 100  # uncompressed / compressed for one member larger than 1 MB (images barely compress)
#: Written into manifests (Teachable Machine reads ``type`` and ``appdata``; this is our tag).
PROJECT_VERSION = "2.4.5"
APPDATA_KEYS = {"epochs": "trainEpochs", "batch_size": "trainBatchSize", "learning_rate": "trainLearningRate"}


def _unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) is not None or ".." in parts


def _open_checked(path: Path) -> zipfile.ZipFile:
    """Open ``path`` as a zip and refuse unsafe names and zip bombs, with clear messages."""
    try:
        archive = zipfile.ZipFile(path)
    except PermissionError as error:
        raise not_permitted(str(path), error) from error
    except ZIP_DAMAGE as error:
        raise DataError(
            f"'{path}' is not a readable Teachable Machine project (a .tm file is a zip archive): "
            f"{error}. It may be damaged or truncated: download or save it again."
        ) from error
    infos = archive.infolist()
    unsafe = [info.filename for info in infos if _unsafe(info.filename)]
    total = sum(info.file_size for info in infos)
    bombs = [
        info.filename
        for info in infos
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1)
    ]
    locked = [info.filename for info in infos if info.flag_bits & 0x1]
    problem = None
    if unsafe:
        problem = f"member names that leave the archive's folder {unsafe[:5]}"
    elif locked:
        problem = (f"password-protected members {locked[:5]}, which Teachable Machine never writes: "
                   f"save the project from Teachable Machine again")
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
    except ZIP_DAMAGE as error:
        raise DataError(f"The {MANIFEST} in '{path}' cannot be read: {error}. The file may be damaged: "
                        f"download or save it again.") from error
    kind = manifest.get("type") if isinstance(manifest, dict) else None
    if kind != "image":
        raise DataError(
            f"'{path}' is a Teachable Machine {kind or 'unknown'} project; only image projects "
            f"(type 'image') can be used here."
        )
    return manifest


def _settings(manifest: dict, path: Path) -> TrainingSettings:
    """The project's epochs, batch size and learning rate (Teachable Machine's defaults if unset)."""
    appdata = manifest.get("appdata") if isinstance(manifest.get("appdata"), dict) else {}
    found = {}
    for ours, theirs in APPDATA_KEYS.items():
        if theirs in appdata:
            value = appdata[theirs]
            wanted = float if ours == "learning_rate" else int
            try:
                number = wanted(value)
            except (TypeError, ValueError, OverflowError):
                number = -1
            if not number > 0 or (wanted is int and number != value):
                raise DataError(f"'{path}' sets {theirs} to {value!r}; it must be a positive number.")
            found[ours] = number
    return TEACHABLE_MACHINE.replace(**found)


def read_tm(path: str | Path) -> Dataset:
    """A data set from a Teachable Machine image project file.

    Classes come in the order of their first sample in the file; the file's epochs, batch size
    and learning rate become ``settings``; the positive class is guessed from the class names
    (:func:`~rsna_workshop.datasets.core.guess_positive`). Samples that are not readable images
    (undecodable, or damaged inside the archive) are skipped with one warning that lists them; a
    class left with no images is an error.

    >>> data = read_tm("experiment1.tm")   # doctest: +SKIP
    >>> data.settings                       # doctest: +SKIP
    TrainingSettings(epochs=15, batch_size=16, learning_rate=3e-05)
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
            if readable(_read_member(archive, member), member):
                items.append(Item(member, path, label, member=member))
            else:
                skipped.append(member)
    if ignored:
        warnings.warn(f"Ignored {len(ignored)} member(s) of '{path.name}' that are not samples: "
                      f"{ignored[:10]}")
    warn_skipped(skipped, path.name)
    require_classes(classes, items, path.name)
    return Dataset(tuple(classes), items, name=path.stem, settings=_settings(manifest, path),
                   positive=guess_positive(classes))


def _read_member(archive: zipfile.ZipFile, member: str) -> bytes:
    """A member's bytes, or b"" when the archive's copy is damaged (bad CRC, bad compression)."""
    try:
        return archive.read(member)
    except ZIP_DAMAGE:
        return b""


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

    Hyperparameters default to ``dataset.settings``. The file is written whole or not at all.
    Open it in Teachable Machine with "Open project from file".
    """
    from PIL import Image

    path = Path(path)
    bad = [name for name in dataset.classes if not name or re.search(r"[/\\]|-!-", name)]
    if bad:
        raise DataError(f"Class names {bad} cannot be written to a .tm file (no '/', '\\' or '-!-').")
    settings = dataset.settings.replace(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)
    manifest = {
        "type": "image",
        "version": PROJECT_VERSION,
        "appdata": {theirs: getattr(settings, ours) for ours, theirs in APPDATA_KEYS.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            archive.writestr(MANIFEST, json.dumps(manifest), compress_type=zipfile.ZIP_DEFLATED)
            index = {name: 0 for name in dataset.classes}
            with ImageReader(dataset) as reader:
                for i, item in enumerate(dataset.items):
                    buffer = io.BytesIO()
                    Image.fromarray(reader.image(i)).save(buffer, format="JPEG", quality=quality)
                    archive.writestr(f"{item.label}-!-{index[item.label]}.jpg", buffer.getvalue())
                    index[item.label] += 1
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path
