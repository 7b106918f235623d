"""The data set shared by every source: labelled images, how they become pictures, how to train on them.

A :class:`Dataset` holds its classes, its :class:`Item` s (one image file, or one member of a
Teachable Machine archive), the :class:`~rsna_workshop.imaging.Preprocess` that makes each a
model-ready picture, its :class:`TrainingSettings` and its ``positive`` class (the one that means
"disease", used by every metric). It is immutable: sampling, subsetting and changing the
preprocessing give new data sets.
"""

from __future__ import annotations

import lzma
import numbers
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from PIL import Image

from ..errors import DataError, SettingsError
from ..imaging import MODEL_SIZE, Preprocess, load_image


@dataclass(frozen=True)
class TrainingSettings:
    """Teachable Machine's "Advanced" settings: epochs, batch size and learning rate.

    >>> TEACHABLE_MACHINE
    TrainingSettings(epochs=50, batch_size=16, learning_rate=0.001)
    >>> TEACHABLE_MACHINE.replace(epochs=15).epochs
    15
    >>> print(TEACHABLE_MACHINE.replace(learning_rate=0.00003))
    50 epochs, batch size 16, learning rate 0.00003
    """

    epochs: int
    batch_size: int
    learning_rate: float

    def __post_init__(self):
        problems = []
        if not isinstance(self.epochs, numbers.Integral) or self.epochs < 1:
            problems.append(f"epochs must be a whole number >= 1 (got {self.epochs!r})")
        if not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1:
            problems.append(f"batch_size must be a whole number >= 1 (got {self.batch_size!r}); try 16")
        if not (isinstance(self.learning_rate, numbers.Real) and self.learning_rate > 0):
            problems.append(f"learning_rate must be > 0 (got {self.learning_rate!r}); "
                            f"Teachable Machine's default is 0.001")
        if problems:
            raise SettingsError("Cannot train: " + "; ".join(problems) + ".")

    def __str__(self) -> str:
        rate = f"{self.learning_rate:.10f}".rstrip("0").rstrip(".")
        return f"{self.epochs} epochs, batch size {self.batch_size}, learning rate {rate}"

    def replace(self, **changes) -> "TrainingSettings":
        """These settings with ``changes`` applied; ``None`` values leave a setting as it is."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})


ZIP_DAMAGE = (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError, zlib.error, lzma.LZMAError)
"""What zipfile and its decompressors raise on a damaged archive (a bad header, CRC, compression or
version field: NotImplementedError is a RuntimeError)."""

def not_permitted(name: str, error: PermissionError) -> DataError:
    """The error for a file the user may not read: unlike damage, downloading again will not help."""
    return DataError(f"Cannot read '{name}': {error}. Check that you may read the file.")


TEACHABLE_MACHINE = TrainingSettings(epochs=50, batch_size=16, learning_rate=0.001)
"""Teachable Machine's defaults, used where a data source says nothing (a folder, RSNA data)."""

NEGATIONS = ("no", "non", "not", "without")
NEGATIVE_WORDS = ("normal", "negative", "healthy", "none", "nofinding")
POSITIVE_WORDS = ("hemorrhage", "haemorrhage", "bleed", "bleeding", "blood", "ich", "positive",
                  "abnormal", "lesion")


def guess_positive(classes: Sequence[str]) -> str | None:
    """The class that means "disease present", guessed from the class names.

    A name is *negative* when it starts with a negation ("no", "non", "not", "without", as a word
    or glued on: ``nobleed``) or with a word such as "normal". Among the other names, the one
    holding a disease word (hemorrhage, bleed, ICH, positive, abnormal ...) is positive. With two
    classes and no such word, the class that is not negative wins, else the second class (as in
    Teachable Machine's "Class 1" / "Class 2"). With more classes and no single disease word:
    None (say which with ``Dataset.with_positive``).

    >>> guess_positive(["nobleed", "bleed"]), guess_positive(["normal", "subdural"])
    ('bleed', 'subdural')
    >>> guess_positive(["normal", "intraparenchymal", "subdural"]) is None
    True
    """
    classes = [str(name) for name in classes]
    negative = [_is_negative(name) for name in classes]
    diseased = [name for name, neg in zip(classes, negative) if not neg and _has_disease_word(name)]
    if len(diseased) == 1:
        return diseased[0]
    if len(classes) != 2:
        return None
    others = [name for name, neg in zip(classes, negative) if not neg]
    return others[0] if len(others) == 1 else classes[1]


def _words(name: str) -> list[str]:
    return [word for word in re.split(r"[^a-z]+", name.lower()) if word]


def _is_negative(name: str) -> bool:
    words = _words(name)
    if not words:
        return False
    first = words[0]
    glued = any(first.startswith(neg) and first[len(neg):] in POSITIVE_WORDS for neg in NEGATIONS)
    return first in NEGATIONS or first in NEGATIVE_WORDS or glued


def _has_disease_word(name: str) -> bool:
    return any(word in POSITIVE_WORDS for word in _words(name))


@dataclass(frozen=True)
class Item:
    """One image of a data set.

    ``source`` is a file (DICOM, PNG or JPEG) or, with ``member`` set, the zip archive holding it;
    ``mask``, where the source has one, the PNG of its ground-truth hemorrhage mask;
    ``findings``, where the labels name them, the hemorrhage subtypes the image shows.
    """

    id: str
    source: Path
    label: str
    patient_id: str | None = None
    member: str | None = None
    mask: Path | None = None
    findings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """A readable name for messages: the file, or ``archive.tm:member``."""
        return f"{self.source.name}:{self.member}" if self.member else str(self.source)


class ImageReader:
    """Reads a data set's images, keeping each archive it opens open until :meth:`close`.

    Use it as a context manager when reading many images, so a ``.tm`` archive is parsed once:

    >>> with ImageReader(dataset) as reader:            # doctest: +SKIP
    ...     first = reader.image(0)
    """

    def __init__(self, dataset: "Dataset"):
        self.dataset = dataset
        self._archives: dict[Path, zipfile.ZipFile] = {}

    def __enter__(self) -> "ImageReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close every archive this reader opened."""
        for archive in self._archives.values():
            archive.close()
        self._archives.clear()

    def read_bytes(self, item: Item) -> bytes:
        """The raw bytes of an item's file or archive member."""
        try:
            if item.member is None:
                return item.source.read_bytes()
            if item.source not in self._archives:
                self._archives[item.source] = zipfile.ZipFile(item.source)
            return self._archives[item.source].read(item.member)
        except PermissionError as error:
            raise not_permitted(item.name, error) from None
        except (KeyError, *ZIP_DAMAGE) as error:
            raise DataError(f"Cannot read '{item.name}': {error}. Is the file complete? "
                            f"Download or copy it again.") from None

    def image(self, i: int) -> np.ndarray:
        """The model-ready (224, 224, 3) uint8 image of item ``i``."""
        item = self.dataset.items[i]
        preprocess = self.dataset.preprocess
        truth = _truth(item) if preprocess.paint == "truth" else None  # implies color_code
        return load_image(self.read_bytes(item), preprocess, name=item.name, truth=truth)


def _truth(item: Item) -> np.ndarray:
    """The ground-truth hemorrhage mask of ``item``."""
    if item.mask is None:
        raise DataError(f"'{item.name}' has no ground-truth mask: painting the true bleed works on the "
                        f"built-in synthetic cohort only. Use Preprocess(color_code=True) instead.")
    try:
        with Image.open(item.mask) as mask:
            return np.asarray(mask)
    except OSError as error:
        raise DataError(f"Cannot read the mask of '{item.name}' ({item.mask}): {error}. Build the "
                        f"cohort again: rsna-workshop data build --force") from None


@dataclass(frozen=True)
class Dataset:
    """Labelled images from one source, with the preprocessing that makes them model-ready.

    >>> data = open_data("experiment1")                        # doctest: +SKIP
    >>> data.counts(), data.positive, data.image(0).shape      # doctest: +SKIP
    ({'normal': 30, 'hemorrhage': 30}, 'hemorrhage', (224, 224, 3))
    """

    classes: tuple[str, ...]
    items: tuple[Item, ...]
    preprocess: Preprocess = field(default_factory=Preprocess)
    name: str = "dataset"
    settings: TrainingSettings = TEACHABLE_MACHINE
    positive: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "items", tuple(self.items))
        unknown = sorted({item.label for item in self.items} - set(self.classes))
        if unknown:
            raise DataError(f"Items carry labels {unknown} that are not among the classes {self.classes}.")
        if self.positive is not None and self.positive not in self.classes:
            raise DataError(f"The positive class '{self.positive}' is not one of {list(self.classes)}.")

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name} {n}" for name, n in self.counts().items())
        return f"<Dataset {self.name!r}: {len(self)} images ({counts}); {self.preprocess.describe()}>"

    def labels(self) -> np.ndarray:
        """The class index of every item, in ``classes`` order."""
        index = {name: i for i, name in enumerate(self.classes)}
        return np.array([index[item.label] for item in self.items], dtype=np.int64)

    def counts(self) -> dict[str, int]:
        """Number of items per class, in ``classes`` order (zero for an empty class)."""
        tally = Counter(item.label for item in self.items)
        return {name: tally[name] for name in self.classes}

    def image(self, i: int) -> np.ndarray:
        """The model-ready (224, 224, 3) uint8 image of item ``i``."""
        with ImageReader(self) as reader:
            return reader.image(i)

    def images(self, indices: Iterable[int] | None = None) -> np.ndarray:
        """Model-ready images of ``indices`` (default all) as an (N, 224, 224, 3) uint8 array."""
        indices = range(len(self)) if indices is None else list(indices)
        out = np.empty((len(indices), MODEL_SIZE, MODEL_SIZE, 3), dtype=np.uint8)
        with ImageReader(self) as reader:
            for row, i in enumerate(indices):
                out[row] = reader.image(i)
        return out

    def patient_ids(self) -> list[str]:
        """The patient of every item; read from the DICOM headers where the source did not say."""
        return [item.patient_id or _dicom_patient_id(item) for item in self.items]

    def sample(self, counts: int | Mapping[str, int], seed: int = 0) -> "Dataset":
        """A new data set with ``counts`` items per class (one int for every class), seeded.

        The same seed gives the same images; a smaller count gives a subset of a larger one.
        """
        return self.subset(sample_indices(self.labels(), self.classes, counts, seed))

    def subset(self, indices: Sequence[int]) -> "Dataset":
        """A new data set holding the items at ``indices`` (same classes and preprocessing)."""
        return replace(self, items=tuple(self.items[i] for i in indices))

    def keep_classes(self, classes: Sequence[str]) -> "Dataset":
        """Only the items of ``classes``, which become the classes in that order."""
        unknown = [name for name in classes if name not in self.classes]
        if unknown:
            raise DataError(f"Classes {unknown} are not in '{self.name}'; it has {list(self.classes)}.")
        positive = self.positive if self.positive in classes else guess_positive(classes)
        items = tuple(item for item in self.items if item.label in classes)
        return replace(self, classes=tuple(classes), items=items, positive=positive)

    def with_preprocess(self, preprocess: Preprocess) -> "Dataset":
        """The same items seen through another preprocessing."""
        return replace(self, preprocess=preprocess)

    def with_settings(self, settings: TrainingSettings) -> "Dataset":
        """The same items with other training settings."""
        return replace(self, settings=settings)

    def with_positive(self, positive: str) -> "Dataset":
        """The same items, with ``positive`` as the class that means "disease present"."""
        return replace(self, positive=positive)

    def positive_index(self) -> int | None:
        """The index of the positive class in ``classes`` (None when there is none)."""
        return None if self.positive is None else self.classes.index(self.positive)


def _dicom_patient_id(item: Item) -> str:
    import pydicom

    try:
        header = pydicom.dcmread(item.source, stop_before_pixels=True, specific_tags=["PatientID"])
    except Exception as error:  # pydicom raises many types for a non-DICOM file
        raise DataError(
            f"Cannot read the patient of '{item.name}' for a patient split: {error}. A patient split "
            f"needs DICOM files (or a slices.csv beside the label file)."
        ) from None
    patient = str(getattr(header, "PatientID", "") or "")
    if not patient:
        raise DataError(f"'{item.name}' has no PatientID, so it cannot be placed in a patient split.")
    return patient


def _class_rng(seed: int, class_name: str) -> np.random.Generator:
    """One random stream per (seed, class): a class's draw never depends on the other classes."""
    return np.random.default_rng([seed, zlib.crc32(class_name.encode())])


def sample_indices(
    labels: np.ndarray, classes: Sequence[str], counts: int | Mapping[str, int], seed: int
) -> np.ndarray:
    """Indices of ``counts`` items per class (sorted), drawn without replacement with ``seed``."""
    wanted = {name: counts for name in classes} if isinstance(counts, int) else dict(counts)
    unknown = sorted(set(wanted) - set(classes))
    if unknown:
        raise DataError(f"Cannot sample classes {unknown}: this data set has {list(classes)}.")
    pools = [np.flatnonzero(labels == index) for index in range(len(classes))]
    short = [
        f"{wanted[name]} '{name}' images but the data set has only {len(pool)}"
        for name, pool in zip(classes, pools)
        if wanted.get(name, 0) > len(pool)
    ]
    if short:
        raise DataError(f"Asked for {'; and '.join(short)}. Ask for fewer, or use a larger source.")
    chosen = [
        _class_rng(seed, name).permutation(pool)[: wanted.get(name, 0)]
        for name, pool in zip(classes, pools)
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=np.int64)

