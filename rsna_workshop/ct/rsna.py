"""The RSNA 2019 Intracranial Hemorrhage Detection layout (Kaggle), shared by the real data and our cohort.

A label file :data:`LABEL_FILE` with columns ``ID,Label`` and six rows per image
(``ID_<id>_epidural``, ..., ``ID_<id>_any``), a folder :data:`IMAGE_FOLDER` of ``ID_<id>.dcm``
files and, for the built-in cohort, :data:`PATIENT_FILE` with each image's patient and level and
:data:`MASK_FOLDER` with each image's hemorrhage mask (``ID_<id>.png``).
The reader (:mod:`rsna_workshop.datasets.rsna`) and the cohort writer
(:mod:`rsna_workshop.synthetic.cohort`) both take these names from here.
"""

from __future__ import annotations

SUBTYPES = ("epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural")
"""The five hemorrhage subtypes of the RSNA challenge, in the label file's order."""

LABELS = (*SUBTYPES, "any")
"""The six label rows of every image: the subtypes, then ``any`` (any hemorrhage at all)."""

LABEL_FILE = "stage_2_train.csv"
IMAGE_FOLDER = "stage_2_train"
PATIENT_FILE = "slices.csv"
MASK_FOLDER = "masks"
PATIENT_COLUMNS = ("ID", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "z", "level", "subtypes")
"""Columns of :data:`PATIENT_FILE`; ``subtypes`` lists the visible subtypes joined by ``|``."""
