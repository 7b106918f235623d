"""Every error the workshop raises on purpose, in one place.

Each is a :class:`WorkshopError`: a problem with what the user gave (a file, a folder, a setting)
whose message says what is wrong and what to do. The command line prints these as one line and
exits with status 2; anything else is a bug and keeps its traceback. Most also derive from
``ValueError`` (or ``FileNotFoundError``), so code that catches those keeps working.
"""

from __future__ import annotations


class WorkshopError(Exception):
    """Base class: a user-facing problem, with a message that says what to do."""


class DicomError(WorkshopError, ValueError):
    """A DICOM file that cannot be turned into Hounsfield units."""


class ImageError(WorkshopError, ValueError):
    """An image file (PNG, JPEG, DICOM) that cannot be read or does not fit the model."""


class DataError(WorkshopError, ValueError):
    """A data source is missing, malformed or cannot give what was asked of it."""


class SettingsError(WorkshopError, ValueError):
    """A setting (epochs, window, threshold, ...) outside what it can be."""


class WeightsUnavailableError(WorkshopError, RuntimeError):
    """No backbone weights file can be found and none can be downloaded."""


class InvalidWeightsError(WorkshopError, ValueError):
    """A file does not hold the MobileNetV2 (alpha 0.35, 224, no top) weights."""


class MissingFileError(WorkshopError, FileNotFoundError):
    """A file or folder the user named is not there."""


class NotebookError(WorkshopError, RuntimeError):
    """A workshop notebook stopped with an error; the message names the notebook and cell."""
