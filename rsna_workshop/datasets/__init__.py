"""One data set abstraction over every source the workshop uses, and its two splits.

Sources: the built-in synthetic cohort (:func:`builtin`), the RSNA 2019 Kaggle layout
(:func:`from_rsna`), Teachable Machine project files (:func:`read_tm`, :func:`write_tm`, and the
original workshop's via :func:`download_project`) and a folder of class folders
(:func:`from_folder`). :func:`open_data` picks the right one for a name or path.

>>> data, defaults = open_data("experiment1")   # doctest: +SKIP
>>> data.counts(), defaults["epochs"]            # doctest: +SKIP
({'normal': 30, 'hemorrhage': 30}, 15)
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .core import (
    TM_DEFAULTS,
    DataError,
    Dataset,
    Item,
    patient_split,
    preprocessing,
    sample_indices,
    teachable_split,
)
from .folder import from_folder
from .rsna import LABEL_FILE, RULES, SUBTYPES, builtin, from_rsna, read_labels
from .tm import PROJECTS, download_project, read_tm, write_tm

ORIGINAL_PREFIX = "original-"

__all__ = [
    "DataError", "Dataset", "Item", "PROJECTS", "RULES", "SUBTYPES", "TM_DEFAULTS", "builtin",
    "download_project", "from_folder", "from_rsna", "open_data", "patient_split", "preprocessing",
    "read_labels", "read_tm", "sample_indices", "teachable_split", "write_tm",
]


def open_data(
    spec: str | Path, *, classes: Sequence[str] | None = None, color_code: bool = False, seed: int = 0
) -> tuple[Dataset, dict]:
    """The data set that ``spec`` names, and its training defaults (epochs, batch size, rate).

    ``spec`` is a recipe name (``experiment1`` ... ``experiment5`` and variants, on the built-in
    cohort, sampled with ``seed``), ``original-experiment1`` ... (the original workshop's project
    files, downloaded once), a ``.tm`` file, an RSNA Kaggle folder (with ``stage_2_train.csv``)
    or a folder of class folders. ``classes`` keeps those classes, in that order (for an RSNA
    folder it is the class rule, e.g. ``normal subdural``). ``color_code`` paints blood red.
    """
    from ..recipes import RECIPES

    text = str(spec)
    path = Path(text).expanduser()
    if text in RECIPES:
        dataset = RECIPES[text].dataset(seed=seed)
    elif text.startswith(ORIGINAL_PREFIX) and not path.exists():
        dataset = read_tm(download_project(text[len(ORIGINAL_PREFIX):]))
    elif path.is_file():
        dataset = read_tm(path)
    elif (path / LABEL_FILE).is_file():
        rule = classes[0] if classes and len(classes) == 1 else (classes or "hemorrhage")
        dataset = from_rsna(path, rule)
        classes = None  # the rule already chose them
    elif path.is_dir():
        dataset = from_folder(path)
    else:
        raise DataError(
            f"'{text}' is neither a recipe ({', '.join(RECIPES)}), an original project "
            f"({', '.join(ORIGINAL_PREFIX + name for name in PROJECTS)}), a .tm file nor a folder."
        )
    if classes:
        dataset = _keep_classes(dataset, classes)
    if color_code:
        dataset = dataset.with_preprocess(preprocessing(color_code=True))
    return dataset, dict(dataset.train_defaults)


def _keep_classes(dataset: Dataset, classes: Sequence[str]) -> Dataset:
    unknown = [name for name in classes if name not in dataset.classes]
    if unknown:
        raise DataError(f"Classes {unknown} are not in '{dataset.name}'; it has {list(dataset.classes)}.")
    kept = dataset.subset([i for i, item in enumerate(dataset.items) if item.label in classes])
    return Dataset(tuple(classes), kept.items, kept.preprocess, kept.name, kept.train_defaults)
