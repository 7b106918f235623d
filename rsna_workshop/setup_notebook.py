"""What each workshop notebook's first cell calls: find the data and the weights, or say what to do.

The first cell installs the package on Colab, then calls :func:`prepare` with the notebook's
``DATA_SOURCE``: ``"builtin"`` (the synthetic cohort, built once, works offline), ``"original"``
(the original workshop's Teachable Machine project files, downloaded once; needs internet) or
the path of an RSNA Kaggle folder (``stage_2_train.csv`` and ``stage_2_train/``).

>>> workshop = prepare("builtin")                      # doctest: +SKIP
Data: the built-in synthetic head CT cohort (2,400 slices) in .../data/synthetic
Backbone weights: found (RSNA_WORKSHOP_WEIGHTS)
>>> data = workshop.dataset(get_recipe("experiment1"), seed=0)   # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import __version__, paths, weights

BUILTIN, ORIGINAL = "builtin", "original"
# The original workshop's project file holding each recipe's images (datasets.PROJECTS).
ORIGINAL_PROJECT = {
    "experiment1": "experiment1",
    "experiment2": "experiment2",
    "experiment3": "experiment3",
    "experiment4": "experiment3",
    "experiment4-250": "experiment3",
    "experiment5-3class-gray": "experiment4",
    "experiment5-3class-color": "experiment5",
}


@dataclass(frozen=True)
class Workshop:
    """What a notebook needs after setup: where its data come from and where the weights are."""

    data_source: str  # "builtin", "original" or "rsna"
    data_path: Path | None  # the cohort or RSNA folder; None for "original" (one file per lesson)
    weights: weights.WeightsSource

    def dataset(self, recipe, seed: int = 0):
        """The lesson's images from this notebook's data source, sampled with ``seed``."""
        if self.data_source == ORIGINAL:
            from .datasets import DataError, download_project, read_tm

            if recipe.name not in ORIGINAL_PROJECT:
                raise DataError(
                    f"The original workshop published no project with the images of '{recipe.name}' "
                    f"({recipe.title}). Set DATA_SOURCE = \"builtin\" in the first cell for this part."
                )
            return read_tm(download_project(ORIGINAL_PROJECT[recipe.name]))
        if self.data_source == BUILTIN:
            return recipe.dataset(seed=seed)
        return recipe.dataset(seed=seed, source=self.data_path)


def quiet_tensorflow() -> None:
    """Import TensorFlow with its start-up log lines silenced (CPU features, CUDA probing).

    They are written straight to the process's error stream, where a notebook shows them in red
    and alarms people although nothing is wrong. Later messages and all errors still show.
    """
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _weights_or_explain() -> weights.WeightsSource:
    try:
        return weights.resolve_weights()
    except weights.WeightsUnavailableError as error:
        raise weights.WeightsUnavailableError(
            "The notebook cannot start without the MobileNetV2 weights.\n"
            f"{error}\n"
            f"In a notebook you can also run, then re-run this cell:\n"
            f"  import os; os.environ['{weights.WEIGHTS_ENV}'] = '/path/to/{weights.WEIGHTS_FILENAME}'"
        ) from None


def _rsna_folder(path: str | Path) -> Path:
    from .datasets import LABEL_FILE

    folder = Path(path).expanduser()
    if not (folder / LABEL_FILE).is_file():
        raise FileNotFoundError(
            f"DATA_SOURCE = '{path}' is not an RSNA Kaggle folder: it needs stage_2_train.csv and "
            f"stage_2_train/ inside. Use \"builtin\" for the built-in cohort, \"original\" for the "
            f"original workshop's files, or the folder where you unpacked the Kaggle data."
        )
    return folder.resolve()


def prepare(data_source: str | Path = BUILTIN) -> Workshop:
    """Check the weights and get the data ready for ``data_source``; print what was found.

    Raises ``WeightsUnavailableError`` (with what to do) when the backbone weights are missing,
    and ``FileNotFoundError`` when ``data_source`` is a folder without RSNA data in it.
    """
    print(f"rsna_workshop {__version__} ({Path(__file__).resolve().parent})")
    source = _weights_or_explain()
    if data_source == BUILTIN:
        from .synthetic import build_cohort

        print("Data: checking the built-in synthetic head CT cohort (the first time, it is generated: "
              "about a minute or two)...", flush=True)
        report = build_cohort()
        workshop = Workshop(BUILTIN, report.path, source)
        done = f"generated in {report.seconds:.0f} s" if report.built else "ready"
        print(f"Data: the built-in cohort, {report.n_slices:,} slices, {done}: {report.path}")
    elif data_source == ORIGINAL:
        workshop = Workshop(ORIGINAL, None, source)
        print("Data: the original workshop's project files (downloaded once per lesson, needs internet)")
    else:
        folder = _rsna_folder(data_source)
        workshop = Workshop("rsna", folder, source)
        print(f"Data: the RSNA Kaggle folder {folder}")
    print(f"Backbone weights: found ({source.origin})")
    quiet_tensorflow()
    return workshop


def samples_figure(dataset, per_class: int = 4, seed: int = 0):
    """A look at the data: ``per_class`` slices of each class, as the model sees them, one row each.

    ``fig.data["ids"]`` maps each class to the item ids shown (chosen at random with ``seed``).
    """
    import numpy as np

    from .figures import new_figure

    rng = np.random.default_rng(seed)
    labels = dataset.labels()
    fig, axes = new_figure(len(dataset.classes), per_class,
                           size=(3.6 * per_class, 3.9 * len(dataset.classes)))
    fig.data = {"ids": {}}
    for row, name in enumerate(dataset.classes):
        members = np.flatnonzero(labels == row)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        fig.data["ids"][name] = [dataset.items[i].id for i in chosen]
        for col, ax in enumerate(axes[row]):
            ax.axis("off")
            if col < len(chosen):
                ax.imshow(dataset.image(int(chosen[col])))
        axes[row, 0].set_title(f"{name} ({len(members)} slices)", loc="left", fontsize=18)
    fig.suptitle(f"{dataset.name}: {per_class} random slices per class, as the model sees them")
    return fig
