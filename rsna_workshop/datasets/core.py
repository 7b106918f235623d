"""The data set abstraction shared by every source, seeded sampling and the two splits."""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import os
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from .. import paths
from ..weights import IMAGE_SIZE

#: Teachable Machine's training defaults (its "Advanced" panel).
TM_DEFAULTS = {"epochs": 50, "batch_size": 16, "learning_rate": 0.001}


class DataError(ValueError):
    """A data source is missing, malformed or cannot give what was asked of it."""


def preprocessing(color_code: bool = False, inside_skull: bool = False):
    """The model-ready preprocessing: the brain window, optionally with blood painted red.

    ``inside_skull`` paints blood-range pixels only inside the skull (no cortical rim).
    """
    from ..imaging import Preprocess

    if not color_code:
        return Preprocess()
    return Preprocess(color_code=True, inside_skull=inside_skull)


@dataclass(frozen=True)
class Item:
    """One image of a data set.

    ``source`` is a file (DICOM, PNG or JPEG) or, with ``member`` set, the zip archive holding it.
    """

    id: str
    source: Path
    label: str
    patient_id: str | None = None
    member: str | None = None

    @property
    def name(self) -> str:
        """A readable name for messages: the file, or ``archive.tm:member``."""
        return f"{self.source.name}:{self.member}" if self.member else str(self.source)

    def read_bytes(self) -> bytes:
        """The raw bytes of the image file or archive member."""
        if self.member is None:
            return self.source.read_bytes()
        from .tm import read_member

        return read_member(self.source, self.member)


@dataclass(eq=False)
class Dataset:
    """Labelled images from one source, with the preprocessing that makes them model-ready.

    >>> data = builtin(rule="hemorrhage").sample(30, seed=0)   # doctest: +SKIP
    >>> data.counts(), data.image(0).shape                      # doctest: +SKIP
    ({'normal': 30, 'hemorrhage': 30}, (224, 224, 3))
    """

    classes: tuple[str, ...]
    items: list[Item]
    preprocess: object = field(default_factory=preprocessing)
    name: str = "dataset"
    train_defaults: dict = field(default_factory=lambda: dict(TM_DEFAULTS))
    _patients: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.classes = tuple(self.classes)
        unknown = sorted({item.label for item in self.items} - set(self.classes))
        if unknown:
            raise DataError(f"Items carry labels {unknown} that are not among the classes {self.classes}.")

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name} {n}" for name, n in self.counts().items())
        return f"<Dataset {self.name!r}: {len(self)} images ({counts}); {self.preprocess!r}>"

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
        from ..imaging import load_image

        item = self.items[i]
        source = item.read_bytes() if item.member else item.source
        return load_image(source, self.preprocess, name=item.name)

    def images(self, indices: Iterable[int] | None = None) -> np.ndarray:
        """Model-ready images of ``indices`` (default all) as an (N, 224, 224, 3) uint8 array."""
        indices = range(len(self)) if indices is None else list(indices)
        out = np.empty((len(indices), IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
        for row, i in enumerate(indices):
            out[row] = self.image(i)
        return out

    def content_key(self, i: int) -> str:
        """A key unique to item ``i``'s bytes and this data set's preprocessing (for caches)."""
        return f"{file_digest(self.items[i])}-{self.preprocess.key}"

    def patient_ids(self) -> list[str]:
        """The patient of every item; read from the DICOM headers where the source did not say."""
        missing = [item for item in self.items if item.patient_id is None and item not in self._patients]
        for item in missing:
            self._patients[item] = _dicom_patient_id(item)
        return [item.patient_id or self._patients[item] for item in self.items]

    def sample(self, counts: int | Mapping[str, int], seed: int = 0) -> "Dataset":
        """A new data set with ``counts`` items per class (one int for every class), seeded.

        The same seed gives the same images; a smaller count gives a subset of a larger one.
        """
        return self.subset(sample_indices(self.labels(), self.classes, counts, seed))

    def subset(self, indices: Sequence[int]) -> "Dataset":
        """A new data set holding the items at ``indices`` (same classes and preprocessing)."""
        items = [self.items[i] for i in indices]
        return replace(self, items=items, _patients=self._patients)

    def with_preprocess(self, preprocess) -> "Dataset":
        """The same items seen through another preprocessing."""
        return replace(self, preprocess=preprocess, _patients=self._patients)


class _Digests:
    """SHA-1 of image files, remembered on disk by (path, member, size, modification time), so a
    warm run hashes nothing: hashing 2,000 CT slices (1 GB) takes about 2 s."""

    FILE = "file_digests.json"
    SAVE_EVERY = 256

    def __init__(self):
        self.memo: dict[str, str] | None = None
        self.folder = None  # the cache folder the memo came from, and goes back to
        self.unsaved = 0

    def __call__(self, item: Item) -> str:
        if self.memo is None:
            self.folder = paths.cache_dir()
            self.memo = self._load()
            atexit.register(self.save)
        stat = item.source.stat()
        fields = (os.path.abspath(item.source), item.member or "", stat.st_size, stat.st_mtime_ns)
        key = "\0".join(map(str, fields))  # NUL: the one character no path holds
        digest = self.memo.get(key)
        if digest is None:
            digest = self.memo[key] = hashlib.sha1(item.read_bytes()).hexdigest()
            self.unsaved += 1
            if self.unsaved >= self.SAVE_EVERY:
                self.save()
        return digest

    def _load(self) -> dict[str, str]:
        try:
            memo = json.loads((self.folder / self.FILE).read_text())
        except (OSError, ValueError):
            return {}
        return memo if isinstance(memo, dict) else {}

    def save(self) -> None:
        """Write the memo, less files that are gone (atomically; a failure only costs re-hashing)."""
        if not self.unsaved:
            return
        partial = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=self.folder, suffix=".part")
            live = {key: value for key, value in self.memo.items() if os.path.exists(key.split("\0")[0])}
            with os.fdopen(handle, "w") as out:
                json.dump(live, out)
            os.replace(partial, self.folder / self.FILE)
            self.unsaved = 0
        except OSError:
            if partial and os.path.exists(partial):
                os.remove(partial)


file_digest = _Digests()


def _dicom_patient_id(item: Item) -> str:
    import pydicom

    try:
        header = pydicom.dcmread(item.source, stop_before_pixels=True, specific_tags=["PatientID"])
    except Exception as error:  # pydicom raises many types for a non-DICOM file
        raise DataError(
            f"Cannot read the patient of '{item.name}' for a patient split: {error}. A patient split "
            f"needs DICOM files (or a slices.csv beside the label file)."
        ) from error
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


def teachable_split(
    labels: Sequence[int], seed: int, test_fraction: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    """Teachable Machine's split: shuffle each class, its first ceil(15 %) is the test set.

    Returns sorted ``(train_index, test_index)``; the same seed gives the same split.

    >>> train, test = teachable_split([0] * 10 + [1] * 30, seed=0)
    >>> len(test)   # ceil(1.5) + ceil(4.5)
    7
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test.append(members[: math.ceil(test_fraction * len(members))])
    test_index = np.sort(np.concatenate(test)) if test else np.empty(0, dtype=np.int64)
    train_index = np.setdiff1d(np.arange(len(labels)), test_index)
    return train_index, test_index


def patient_split(
    dataset: Dataset, seed: int, test_fraction: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    """A split with no patient on both sides: whole patients, shuffled with ``seed``, go to the
    test set until it holds at least ``test_fraction`` of the images. Returns sorted indices."""
    patients = np.array(dataset.patient_ids())
    unique = np.unique(patients)
    order = np.random.default_rng(seed).permutation(unique)
    target = math.ceil(test_fraction * len(patients))
    sizes = Counter(patients.tolist())
    taken, in_test = 0, []
    for patient in order:
        if taken >= target:
            break
        in_test.append(patient)
        taken += sizes[patient]
    test_mask = np.isin(patients, in_test)
    return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
