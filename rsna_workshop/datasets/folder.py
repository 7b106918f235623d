"""Your own images: one subfolder per class holding PNG, JPEG or DICOM files."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from ..ct import is_dicom
from ..errors import DataError
from .core import Dataset, Item, guess_positive

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".dcm"}


def readable(data: bytes, name: str) -> bool:
    """True when ``data`` looks like a DICOM file (its 'DICM' marker) or Pillow can verify it."""
    from PIL import Image

    if is_dicom(data, name):
        return is_dicom(data)  # a .dcm name must carry the marker too
    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.verify()
    except Exception:  # Pillow raises many types for a broken file
        return False
    return True


def warn_skipped(skipped: list[str], where: str) -> None:
    """One warning that lists every file left out because it is not a readable image."""
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} file(s) in '{where}' that are not readable images: "
            f"{', '.join(skipped)}",
            stacklevel=3,
        )


def require_classes(classes: list[str], items: list[Item], where: str) -> None:
    """At least two classes, each with at least one image, or a clear error."""
    empty = [name for name in classes if not any(item.label == name for item in items)]
    if empty:
        raise DataError(
            f"Class(es) {empty} in '{where}' have no readable images. Add images to them or remove them."
        )
    if len(classes) < 2:
        raise DataError(f"'{where}' has {len(classes)} class(es); a classifier needs at least two.")


def from_folder(path: str | Path) -> Dataset:
    """A data set from ``path/<class name>/<image files>`` (PNG, JPEG or DICOM).

    Classes are the subfolders in alphabetical order; the positive class is guessed from their
    names (:func:`~rsna_workshop.datasets.core.guess_positive`). Files that are not readable images
    are skipped with one warning that lists them; other files (by suffix) are ignored.

    >>> data = from_folder("my_cases")   # my_cases/normal/*.png, my_cases/bleed/*.dcm  # doctest: +SKIP
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"No folder at '{root}'. Give a folder with one subfolder of images per class.")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    classes = [folder.name for folder in folders]
    items, skipped = [], []
    for folder in folders:
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES or file.name.startswith("."):
                continue
            with open(file, "rb") as handle:  # a DICOM needs only its marker checked
                data = handle.read(132) if file.suffix.lower() == ".dcm" else handle.read()
            if readable(data, file.name):
                items.append(Item(f"{folder.name}/{file.name}", file, folder.name))
            else:
                skipped.append(f"{folder.name}/{file.name}")
    warn_skipped(skipped, str(root))
    require_classes(classes, items, str(root))
    return Dataset(tuple(classes), items, name=root.name, positive=guess_positive(classes))
