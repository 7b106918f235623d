"""The workshop package's version, in one place (the package's face and `doctor` read it)."""

__version__ = "0.2.0"
