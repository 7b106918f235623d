"""rsna_workshop: learn how a deep learning model finds intracranial hemorrhage on head CT.

The package follows the data path, each part importing only from the parts before it:
``ct`` (DICOM file -> Hounsfield units) -> ``imaging`` (picture) -> ``datasets`` -> ``synthetic``
(the built-in cohort) -> ``model`` (embedding, head, classifier, training) -> ``evaluation`` ->
``show`` (figures, widgets, words) -> ``workshop`` (recipes, setup, lessons) -> ``cli``.
The names below are the stable interface for scripts:

>>> import rsna_workshop as rw
>>> data = rw.open_data("experiment1", seed=0)           # doctest: +SKIP
>>> result = rw.train(data, seed=0)                      # doctest: +SKIP
>>> result.classifier.predict("slice.dcm")               # doctest: +SKIP
"""

from .ct import read_ct
from .datasets import read_tm, write_tm
from .errors import WorkshopError
from .imaging import Preprocess
from .model import Classifier, TrainingResult, train
from .version import __version__
from .workshop import get_recipe, open_data

__all__ = ["Classifier", "Preprocess", "TrainingResult", "WorkshopError", "__version__", "get_recipe",
           "open_data", "read_ct", "read_tm", "train", "write_tm"]
