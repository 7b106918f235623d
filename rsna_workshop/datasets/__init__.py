"""Labelled images from every source the workshop uses, and the two ways to split them.

Sources: the RSNA 2019 Kaggle layout (:func:`from_rsna`, which the built-in cohort uses too),
Teachable Machine project files (:func:`read_tm`, :func:`write_tm`; the original workshop's via
:func:`download_project`) and a folder of class folders (:func:`from_folder`). Each gives a
:class:`Dataset`. Which source a name means is decided in one place, the workshop's resolver
(:func:`rsna_workshop.workshop.open_data`).
"""

from .core import (
    TEACHABLE_MACHINE,
    Dataset,
    ImageReader,
    Item,
    TrainingSettings,
    guess_positive,
    sample_indices,
)
from .download import ORIGINAL_PROJECTS, download_project
from .folder import from_folder
from .rsna import RULES, from_rsna, read_labels, rule_classes
from .splits import SPLITS, patient_split, split, teachable_split
from .tm import read_tm, write_tm

__all__ = [
    "ORIGINAL_PROJECTS", "RULES", "SPLITS", "TEACHABLE_MACHINE", "Dataset", "ImageReader", "Item",
    "TrainingSettings", "download_project", "from_folder", "from_rsna", "guess_positive",
    "patient_split", "read_labels", "read_tm", "rule_classes", "sample_indices", "split",
    "teachable_split", "write_tm",
]
