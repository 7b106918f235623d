"""From a DICOM file to Hounsfield units, and the RSNA 2019 data layout.

>>> from rsna_workshop.ct import read_ct
>>> read_ct("ID_000012eaf.dcm").hu.dtype            # doctest: +SKIP
dtype('float32')
"""

from .dicom import AIR_HU, CTSlice, is_dicom, read_ct
from .rsna import IMAGE_FOLDER, LABEL_FILE, LABELS, PATIENT_FILE, SUBTYPES

__all__ = ["AIR_HU", "CTSlice", "IMAGE_FOLDER", "LABELS", "LABEL_FILE", "PATIENT_FILE", "SUBTYPES",
           "is_dicom", "read_ct"]
