"""rsna_workshop: learn how a deep learning model finds intracranial hemorrhage on head CT."""

__version__ = "0.1.0"
