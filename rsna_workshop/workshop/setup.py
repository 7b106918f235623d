"""What each workshop notebook's first cell calls: find the data and the weights, or say what to do.

The first cell installs the package on Colab, then calls :func:`prepare` with the notebook's
``DATA_SOURCE``: ``"builtin"`` (the synthetic cohort, built once, works offline), ``"original"``
(the original workshop's Teachable Machine project files, downloaded once; needs internet) or
the path of an RSNA Kaggle folder (``stage_2_train.csv`` and ``stage_2_train/``).

>>> workshop = prepare("builtin")                      # doctest: +SKIP
Data: the built-in synthetic head CT cohort is ready (0 s): .../data/synthetic
Backbone weights: found (RSNA_WORKSHOP_WEIGHTS)
>>> data = workshop.dataset(get_recipe("experiment1"), seed=0)   # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..version import __version__
from ..ct import LABEL_FILE
from ..errors import MissingFileError, WeightsUnavailableError
from ..model import WEIGHTS_ENV, WEIGHTS_FILENAME, resolve_weights
from ..model.backbone import WeightsSource
from ..synthetic import ensure_cohort
from .recipes import Recipe
from .resolve import BUILTIN, ORIGINAL, open_data


@dataclass(frozen=True)
class Workshop:
    """What a notebook needs after setup: where its data come from and where the weights are."""

    source: str | Path  # "builtin", "original" or an RSNA Kaggle folder
    weights: WeightsSource

    def dataset(self, recipe: Recipe | str, seed: int = 0, needs_patients: bool = False):
        """The lesson's images from this notebook's data source, sampled with ``seed``.

        ``needs_patients``: the cell splits by patient, which the original workshop's project files
        (pictures without patient IDs) cannot give; with ``"original"`` the built-in cohort is used
        instead, and one line says so.
        """
        source = self.source
        if needs_patients and source == ORIGINAL:
            print("The original workshop's project files hold no patient IDs, so this split by patient "
                  "uses the built-in synthetic cohort.", flush=True)
            source = BUILTIN
        return open_data(recipe, seed=seed, source=source)


def _weights_or_explain() -> WeightsSource:
    try:
        return resolve_weights()
    except WeightsUnavailableError as error:
        raise WeightsUnavailableError(
            "The notebook cannot start without the MobileNetV2 weights.\n"
            f"{error}\n"
            f"In a notebook you can also run, then re-run this cell:\n"
            f"  import os; os.environ['{WEIGHTS_ENV}'] = '/path/to/{WEIGHTS_FILENAME}'"
        ) from None


def _rsna_folder(path: str | Path) -> Path:
    folder = Path(path).expanduser()
    if not (folder / LABEL_FILE).is_file():
        raise MissingFileError(
            f"DATA_SOURCE = '{path}' is not an RSNA Kaggle folder: it needs stage_2_train.csv and "
            f"stage_2_train/ inside. Use \"builtin\" for the built-in cohort, \"original\" for the "
            f"original workshop's files, or the folder where you unpacked the Kaggle data."
        )
    return folder.resolve()


def prepare(data_source: str | Path = BUILTIN, needs_ct: bool = False) -> Workshop:
    """Check the weights and get the data ready for ``data_source``; print what was found.

    ``needs_ct``: the notebook's lessons need CT files (Hounsfield units, patient IDs), which the
    original workshop's project files (pictures) do not hold; with ``"original"`` it then uses the
    built-in cohort and says so. Raises ``WeightsUnavailableError`` (with what to do) when the
    backbone weights are missing, and ``MissingFileError`` when ``data_source`` is a folder
    without RSNA data in it.
    """
    print(f"rsna_workshop {__version__} ({Path(__file__).resolve().parent})")
    source = _weights_or_explain()
    if data_source == ORIGINAL and needs_ct:
        print("Data: this notebook needs CT files (Hounsfield units, patient IDs), which the original "
              "workshop's project files do not hold: it uses the built-in synthetic cohort.")
        data_source = BUILTIN
    if data_source == BUILTIN:
        print("Data: preparing the built-in synthetic head CT cohort (generated on this machine the "
              "first time it is used, then reused)...", flush=True)
        start = time.perf_counter()
        folder = ensure_cohort()
        workshop = Workshop(BUILTIN, source)
        print(f"Data: the built-in synthetic head CT cohort is ready "
              f"({time.perf_counter() - start:.0f} s): {folder}")
    elif data_source == ORIGINAL:
        workshop = Workshop(ORIGINAL, source)
        print("Data: the original workshop's project files (downloaded once per lesson, needs internet)")
    else:
        folder = _rsna_folder(data_source)
        workshop = Workshop(folder, source)
        print(f"Data: the RSNA Kaggle folder {folder}")
    print(f"Backbone weights: found ({source.origin})")
    return workshop  # TensorFlow is imported (quietly) only when a cell needs the backbone
