"""The built-in synthetic head CT cohort, in the RSNA 2019 Kaggle layout.

``generate_slice`` draws one slice in Hounsfield units with its ground-truth hemorrhage mask;
``build_cohort`` writes the whole cohort as DICOM files with RSNA labels; ``ensure_cohort`` builds
it once and then reuses it.

>>> from rsna_workshop.synthetic import generate_slice
>>> generate_slice(1, level=0.55).hu.shape
(512, 512)
"""

from .cohort import BuildReport, build_cohort, ensure_cohort
from .generator import GENERATOR_VERSION, SyntheticSlice, generate_slice
from ..ct.rsna import SUBTYPES

__all__ = ["GENERATOR_VERSION", "SUBTYPES", "BuildReport", "SyntheticSlice", "build_cohort",
           "ensure_cohort", "generate_slice"]
