"""The built-in synthetic head CT cohort, in the RSNA 2019 Kaggle layout.

``generate_slice`` draws one slice in Hounsfield units with its ground-truth hemorrhage mask;
``ensure_cohort`` writes the cohort's label files from its plan (no pixels), ``ensure_slices``
draws the slices asked for that are not on disk yet, and ``build_cohort`` draws them all.

>>> from rsna_workshop.synthetic import generate_slice
>>> generate_slice(1, level=0.55).hu.shape
(512, 512)
"""

from .cohort import BuildReport, build_cohort, ensure_cohort, ensure_slices
from .generator import GENERATOR_VERSION, SyntheticSlice, generate_slice
from ..ct.rsna import SUBTYPES

__all__ = ["GENERATOR_VERSION", "SUBTYPES", "BuildReport", "SyntheticSlice", "build_cohort",
           "ensure_cohort", "ensure_slices", "generate_slice"]
