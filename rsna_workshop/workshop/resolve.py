"""The one place that turns a name or a path into a data set, for the notebooks and the command line.

>>> data = open_data("experiment1", seed=0)                      # doctest: +SKIP
>>> data.counts(), data.settings.epochs, data.positive           # doctest: +SKIP
({'normal': 30, 'hemorrhage': 30}, 15, 'hemorrhage')
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

from ..ct import LABEL_FILE
from ..datasets import (
    ORIGINAL_PROJECTS,
    Dataset,
    download_project,
    from_folder,
    from_rsna,
    read_tm,
)
from ..errors import DataError
from ..imaging import Preprocess
from ..synthetic import ensure_cohort, ensure_slices
from .recipes import RECIPES, Recipe

BUILTIN, ORIGINAL = "builtin", "original"


def open_data(
    spec: str | Path | Recipe,
    *,
    seed: int = 0,
    source: str | Path = BUILTIN,
    classes: Sequence[str] | None = None,
    color_code: bool = False,
    positive: str | None = None,
) -> Dataset:
    """The data set that ``spec`` names, with its training settings and positive class.

    Parameters
    ----------
    spec
        A recipe or recipe name (``experiment1`` ..., see :data:`RECIPES`), an original workshop
        project (``original-small`` ..., see :data:`~rsna_workshop.datasets.ORIGINAL_PROJECTS`;
        downloaded once), a ``.tm`` file, an RSNA Kaggle folder (with ``stage_2_train.csv``) or a
        folder of class folders.
    seed
        Which images a recipe samples (the same seed gives the same images in every recipe).
    source
        Where a recipe takes its images from: ``"builtin"`` (the synthetic cohort; the slices a
        recipe needs are drawn on first use), ``"original"`` (the original workshop's project for
        that lesson, with its own settings; the built-in cohort where none was published) or an
        RSNA Kaggle folder.
    classes
        Keep only these classes, in this order (for an RSNA folder: the class rule, e.g.
        ``["normal", "subdural"]``).
    color_code
        Paint blood-range pixels red (DICOM sources only).
    positive
        The class that means "disease present", when the guess from the class names is wrong.
    """
    if isinstance(spec, Recipe) or str(spec) in RECIPES:
        recipe = spec if isinstance(spec, Recipe) else RECIPES[str(spec)]
        dataset = recipe_dataset(recipe, seed=seed, source=source)
    else:
        dataset, classes = _from_name_or_path(str(spec), classes)
    if classes:
        dataset = dataset.keep_classes(classes)
    if color_code:
        dataset = dataset.with_preprocess(Preprocess(color_code=True))
    return dataset.with_positive(positive) if positive else dataset


def _from_name_or_path(text: str, classes):
    """A data set from an original project's name or a path; the classes still to keep."""
    path = Path(text).expanduser()
    if text in ORIGINAL_PROJECTS and not path.exists():
        return read_tm(download_project(text)), classes
    if path.is_file():
        return read_tm(path), classes
    if (path / LABEL_FILE).is_file():
        rule = classes[0] if classes and len(classes) == 1 else (classes or "hemorrhage")
        return from_rsna(path, rule), None  # the rule already chose the classes
    if path.is_dir():
        return from_folder(path), classes
    raise DataError(
        f"'{text}' is neither a recipe ({', '.join(RECIPES)}), an original project "
        f"({', '.join(ORIGINAL_PROJECTS)}), a .tm file nor a folder."
    )


def recipe_dataset(recipe: Recipe, *, seed: int = 0, source: str | Path = BUILTIN) -> Dataset:
    """A recipe's images from ``source`` (see :func:`open_data`), named after the recipe."""
    if source == ORIGINAL:
        if recipe.original is not None:
            return _original(recipe)
        print(f"The original workshop published no project for '{recipe.name}' ({recipe.title}): "
              f"using the built-in synthetic cohort for this one.", flush=True)
        source = BUILTIN
    if source == BUILTIN:  # sampled from every planned slice; those not drawn yet are drawn now
        root = ensure_cohort()
        dataset = from_rsna(root, recipe.rule, counts=recipe.counts, seed=seed, only_present=False)
        ensure_slices(root, [item.id for item in dataset.items], progress=True)
    else:
        dataset = from_rsna(Path(source), recipe.rule, counts=recipe.counts, seed=seed)
    return replace(dataset, preprocess=recipe.preprocess, name=recipe.name, settings=recipe.settings,
                   positive=recipe.positive)


def _original(recipe: Recipe) -> Dataset:
    """The original project of a recipe, with the file's settings except those the lesson changes."""
    dataset = read_tm(download_project(recipe.original))
    changes = {name: getattr(recipe.settings, name) for name in recipe.original_changes}
    return replace(dataset, name=f"{recipe.name} (original: {recipe.original})",
                   settings=dataset.settings.replace(**changes))
