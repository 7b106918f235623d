"""Data sets from the RSNA 2019 Kaggle layout (see :mod:`rsna_workshop.ct.rsna`): the real data or our cohort.

The full Kaggle label file has 4.5 million rows; it is parsed with vectorised NumPy (no per-row
Python): loading it and sampling recipe 3 takes about 4 s and 0.6 GB on a 2-core laptop
(``benchmarks/bench_rsna_csv.py``). The parsed table is remembered per file version, as a pure
function of the file, so a notebook that opens several recipes parses it once.
"""

from __future__ import annotations

import csv
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..ct.rsna import IMAGE_FOLDER, LABEL_FILE, LABELS, MASK_FOLDER, PATIENT_FILE, SUBTYPES
from ..errors import DataError
from .core import Dataset, Item, guess_positive, sample_indices

#: Named class rules. A rule is a tuple of classes: ``normal`` (no hemorrhage), ``hemorrhage``
#: (any subtype) or a subtype name, meaning that subtype and no other.
RULES = {
    "hemorrhage": ("normal", "hemorrhage"),
    "three-class": ("normal", "intraparenchymal", "subdural"),
    **{subtype: ("normal", subtype) for subtype in SUBTYPES},
}


@dataclass(frozen=True)
class LabelTable:
    """Per-image labels of an RSNA label file: ``ids`` (bytes, e.g. ``b"ID_12cadc6af"``, sorted)
    and ``labels`` (n, 6) int8 in :data:`~rsna_workshop.ct.rsna.LABELS` order."""

    ids: np.ndarray
    labels: np.ndarray

    def classify(self, classes: Sequence[str]) -> np.ndarray:
        """Each image's index in ``classes`` (see :data:`RULES`), or -1 when it fits none."""
        subtypes, any_ = self.labels[:, :5], self.labels[:, 5]
        n_positive = subtypes.sum(axis=1)
        out = np.full(len(self.ids), -1, dtype=np.int64)
        for index, name in enumerate(classes):
            if name == "normal":
                member = any_ == 0
            elif name == "hemorrhage":
                member = any_ == 1
            else:
                member = (subtypes[:, SUBTYPES.index(name)] == 1) & (n_positive == 1)
            out[member & (out == -1)] = index
        return out


def rule_classes(rule: str | Sequence[str]) -> tuple[str, ...]:
    """The classes of a rule name or of an explicit tuple of class names."""
    if isinstance(rule, str):
        if rule not in RULES:
            raise DataError(f"Unknown class rule '{rule}'. Use one of: {', '.join(RULES)}.")
        return RULES[rule]
    classes = tuple(rule)
    bad = [name for name in classes if name not in ("normal", "hemorrhage", *SUBTYPES)]
    if bad or len(classes) < 2 or len(set(classes)) != len(classes):
        raise DataError(
            f"Cannot build RSNA classes {list(classes)}: give two or more distinct names from "
            f"normal, hemorrhage, {', '.join(SUBTYPES)}."
        )
    return classes


def read_labels(csv_path: str | Path) -> LabelTable:
    """Parse an RSNA label file (cached per file version)."""
    path = Path(csv_path)
    if not path.is_file():
        raise DataError(f"No RSNA label file at '{path}'. Expected {LABEL_FILE} (columns ID,Label).")
    stat = path.stat()
    try:
        return _read_labels(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except DataError:
        raise
    except Exception as error:  # damaged bytes trip NumPy's parsing in many ways
        raise DataError(f"'{path}' cannot be read as an RSNA label file ({type(error).__name__}: "
                        f"{error}); download or copy it again.") from None


@lru_cache(maxsize=4)
def _read_labels(path: str, mtime_ns: int, size: int) -> LabelTable:
    raw = Path(path).read_bytes()
    header = raw[: raw.find(b"\n")] if b"\n" in raw[:4096] else raw[:4096]
    columns = header.strip().lstrip(b"\xef\xbb\xbf").replace(b'"', b"").replace(b" ", b"")
    if columns != b"ID,Label":
        raise DataError(
            f"'{path}' has columns {header.decode(errors='replace').strip()!r}; an RSNA label file "
            f"has exactly 'ID,Label' (rows like ID_12cadc6af_epidural,0)."
        )
    data = np.frombuffer(raw, dtype=np.uint8)[len(header) + 1 :]
    starts, commas, underscores = _row_offsets(data, path)
    ids = _gather_ids(data, starts, underscores)
    codes = _subtype_codes(data, underscores, commas, starts, path)
    values = data[commas + 1].astype(np.int8) - ord("0")
    return _tabulate(ids, codes, values, path)


def _row_offsets(data: np.ndarray, path: str):
    """Start, comma and last-underscore offsets of every non-empty row; checks the row shape.

    ``ends`` are the offsets just past each row's text (before its LF or CRLF).
    """
    newlines = np.flatnonzero(data == ord("\n"))
    if len(data) and data[-1] != ord("\n"):
        newlines = np.append(newlines, len(data))
    starts = np.concatenate(([0], newlines[:-1] + 1))
    ends = newlines - (data[np.maximum(newlines - 1, 0)] == ord("\r"))
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if len(starts) == 0:
        raise DataError(f"'{path}' has a header but no rows.")
    commas = np.flatnonzero(data == ord(","))
    row_of_comma = np.searchsorted(ends, commas)
    one_comma = len(commas) == len(starts) and np.array_equal(row_of_comma, np.arange(len(starts)))
    if not one_comma:
        counts = np.bincount(row_of_comma, minlength=len(starts))
        _bad_row(data, starts, ends, int(np.flatnonzero(counts != 1)[0]), path, "needs exactly one comma")
    bad_label = (ends - commas != 2) | ~np.isin(data[np.minimum(commas + 1, len(data) - 1)], (48, 49))
    if bad_label.any():
        _bad_row(data, starts, ends, int(np.flatnonzero(bad_label)[0]), path, "needs a Label of 0 or 1")
    underscores = np.flatnonzero(data == ord("_"))
    last = np.searchsorted(underscores, commas) - 1
    last_underscore = underscores[np.maximum(last, 0)] if len(underscores) else np.zeros_like(commas)
    bad_id = (last < 0) | (last_underscore <= starts) | (data[starts] != ord("I"))
    if bad_id.any():
        row = int(np.flatnonzero(bad_id)[0])
        _bad_row(data, starts, ends, row, path, "needs an ID like ID_<id>_<subtype>")
    return starts, commas, last_underscore


def _bad_row(data, starts, ends, row: int, path: str, problem: str):
    text = bytes(data[starts[row] : ends[row]]).decode(errors="replace")
    raise DataError(f"Row {row + 2} of '{path}' ({text!r}) {problem}. Is this an RSNA label file?")


def _gather_ids(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, chunk: int = 500_000):
    """The ``ID_<id>`` text of every row as a fixed-width bytes array."""
    widths = ends - starts
    width = int(widths.max())
    out = np.empty(len(starts), dtype=f"S{width}")
    columns = np.arange(width)
    for first in range(0, len(starts), chunk):
        rows = slice(first, first + chunk)
        index = starts[rows, None] + columns
        block = data[np.minimum(index, len(data) - 1)]
        block[columns >= widths[rows, None]] = 0
        out[rows] = np.ascontiguousarray(block).view(f"S{width}").ravel()
    return out


def _subtype_key(length, first, sixth, last):
    """A number naming a subtype by its length, first, sixth (or last) and last letters."""
    return ((length.astype(np.int64) * 256 + first) * 256 + sixth) * 256 + last


def _subtype_codes(data, underscores, commas, starts, path: str) -> np.ndarray:
    """Index into :data:`~rsna_workshop.ct.rsna.LABELS` of every row, from the label name's length
    and three of its letters (then checked against the whole name's shape)."""
    length = commas - underscores - 1
    first = data[underscores + 1]
    sixth = data[underscores + np.minimum(6, length)]
    last = data[commas - 1]
    keys = _subtype_key(length, first, sixth, last)
    known = np.array(
        [_subtype_key(np.array(len(s)), ord(s[0]), ord(s[min(6, len(s)) - 1]), ord(s[-1])) for s in LABELS]
    )
    order = np.argsort(known)
    position = np.searchsorted(known[order], keys).clip(0, len(known) - 1)
    codes = order[position]
    bad = known[codes] != keys
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        ends = commas + 2
        _bad_row(data, starts, ends, row, path, f"names no RSNA label ({', '.join(LABELS)})")
    return codes


def _tabulate(ids: np.ndarray, codes: np.ndarray, values: np.ndarray, path: str) -> LabelTable:
    """Six labels per image; rows of one image may be anywhere (the Kaggle file keeps them together)."""
    new_run = np.concatenate(([True], ids[1:] != ids[:-1]))
    run_of_row = np.cumsum(new_run) - 1
    unique, run_image = np.unique(ids[new_run], return_inverse=True)
    labels = np.full((len(unique), len(LABELS)), -1, dtype=np.int8)
    labels[run_image[run_of_row], codes] = values
    incomplete = (labels < 0).any(axis=1)
    if incomplete.any():
        first = int(np.flatnonzero(incomplete)[0])
        missing = [LABELS[j] for j in np.flatnonzero(labels[first] < 0)]
        raise DataError(
            f"In '{path}', {int(incomplete.sum())} images lack some of the six label rows; e.g. "
            f"{unique[first].decode()} has no row for {', '.join(missing)}."
        )
    return LabelTable(unique, labels)


def read_patients(path: Path) -> dict[str, str]:
    """Image id to patient id from a ``slices.csv`` (columns ``ID,PatientID,...``)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not {"ID", "PatientID"} <= set(reader.fieldnames or ()):
                raise DataError(f"'{path}' needs the columns ID and PatientID; it has {reader.fieldnames}.")
            return {row["ID"]: row["PatientID"] for row in reader}
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"'{path}' cannot be read as a CSV file ({error}); copy it again or delete "
                        f"it (it only names each slice's patient).") from None


def _present(ids: np.ndarray, image_dir: Path) -> np.ndarray:
    """Which ``ids`` have an ``<id>.dcm`` in ``image_dir`` (one directory listing)."""
    if not image_dir.is_dir():
        raise DataError(f"No image folder at '{image_dir}'. Expected the folder of ID_<id>.dcm files.")
    width = ids.dtype.itemsize
    names = [name[:-4] for name in os.listdir(image_dir) if name.endswith(".dcm") and len(name) - 4 <= width]
    found = np.array(names, dtype=ids.dtype)
    position = np.searchsorted(ids, found).clip(0, max(len(ids) - 1, 0))  # ids are sorted
    present = np.zeros(len(ids), dtype=bool)
    present[position[ids[position] == found]] = True
    return present


def from_rsna(
    root: str | Path,
    rule: str | Sequence[str] = "hemorrhage",
    csv: str | Path | None = None,
    image_dir: str | Path | None = None,
    *,
    counts: int | Mapping[str, int] | None = None,
    seed: int = 0,
    strict: bool = False,
    only_present: bool = True,
) -> Dataset:
    """A data set from the RSNA 2019 Kaggle layout, with classes by ``rule`` (see :data:`RULES`).

    Only images present in ``image_dir`` are kept (a warning says how many were missing; with
    ``strict=True`` a missing image is an error). ``counts`` samples that many per class, exactly
    as ``from_rsna(...).sample(counts, seed)`` but without building every item first.
    ``only_present=False`` keeps every labelled image, present or not, so the same seed samples
    the same images however many are on disk (the built-in cohort then draws the missing ones).

    >>> data = from_rsna("rsna-intracranial-hemorrhage-detection", rule="subdural")  # doctest: +SKIP
    """
    root = Path(root)
    classes = rule_classes(rule)
    csv_path = Path(csv) if csv else root / LABEL_FILE
    image_dir = Path(image_dir) if image_dir else root / IMAGE_FOLDER
    table = read_labels(csv_path)
    present = _present(table.ids, image_dir) if only_present else np.ones(len(table.ids), dtype=bool)
    n_missing = int((~present).sum())
    if n_missing and (strict or not present.any()):
        raise DataError(
            f"{n_missing} of the {len(table.ids)} images that '{csv_path.name}' names are not in "
            f"'{image_dir}' (e.g. {table.ids[~present][0].decode()}.dcm). "
            + ("Nothing is left to use." if not present.any() else "Pass strict=False to use the rest.")
        )
    if n_missing:
        warnings.warn(
            f"{n_missing} of the {len(table.ids)} images in '{csv_path.name}' are not in "
            f"'{image_dir}'; using the {int(present.sum())} present.",
            stacklevel=2,
        )
    class_of = table.classify(classes)
    kept = np.flatnonzero(present & (class_of >= 0))
    if counts is not None:
        kept = kept[sample_indices(class_of[kept], classes, counts, seed)]
    patient_file = root / PATIENT_FILE
    patients = read_patients(patient_file) if patient_file.is_file() else {}
    mask_dir = root / MASK_FOLDER if (root / MASK_FOLDER).is_dir() else None
    items = []
    for i in kept:
        image_id = table.ids[i].decode()
        findings = tuple(name for name, label in zip(SUBTYPES, table.labels[i]) if label == 1)
        items.append(Item(image_id, image_dir / f"{image_id}.dcm", classes[class_of[i]],
                          patients.get(image_id), mask=mask_dir and mask_dir / f"{image_id}.png",
                          findings=findings))
    dataset = Dataset(classes, items, name=f"{root.name} ({'/'.join(classes)})",
                      positive=guess_positive(classes))
    empty = [name for name, n in dataset.counts().items() if n == 0]
    if empty and counts is None:
        raise DataError(f"No images in '{root}' fit the class(es) {empty} of rule {list(classes)}.")
    return dataset
