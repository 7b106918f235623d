"""The workshop's experiments, one recipe per lesson: which images, how they are shown, how long
the model trains. Every number lives in :data:`RECIPES` below.

>>> recipe = get_recipe("experiment1")
>>> recipe.counts, recipe.epochs
({'normal': 30, 'hemorrhage': 30}, 15)
>>> data = recipe.dataset(seed=0)   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .datasets import DataError, Dataset, builtin, from_rsna, preprocessing

GRAY = preprocessing()
COLOR = preprocessing(color_code=True)
COLOR_INSIDE_SKULL = preprocessing(color_code=True, inside_skull=True)
THREE_CLASSES = ("normal", "intraparenchymal", "subdural")


@dataclass(frozen=True)
class Recipe:
    """One experiment: data (class rule and images per class), preprocessing and training."""

    name: str
    title: str
    description: str
    rule: str | tuple[str, ...]
    counts: dict = field(hash=False)
    preprocess: object
    epochs: int
    learning_rate: float
    batch_size: int = 16

    def dataset(self, seed: int = 0, source: str | Path | None = None) -> Dataset:
        """The recipe's images, sampled with ``seed`` from the built-in cohort or from ``source``
        (an RSNA-layout folder). The same seed gives the same images in every recipe that asks
        for the same classes, so experiments 3, 4 and 5 see identical images."""
        options = {"counts": self.counts, "seed": seed}
        data = builtin(self.rule, **options) if source is None else from_rsna(source, self.rule, **options)
        data.preprocess = self.preprocess
        data.name = self.name
        data.train_defaults = {
            "epochs": self.epochs, "batch_size": self.batch_size, "learning_rate": self.learning_rate
        }
        return data


def _recipe(name, title, description, counts, epochs=50, rule="hemorrhage", preprocess=GRAY,
            learning_rate=0.001):
    return Recipe(name, title, description, rule, counts, preprocess, epochs, learning_rate)


BALANCED = {"normal": 1000, "hemorrhage": 1000}
THREE_BY_80 = {name: 80 for name in THREE_CLASSES}

RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        _recipe(
            "experiment1", "A small data set",
            "30 normal slices and 30 with hemorrhage, trained for 15 epochs. With so few examples "
            "the model cannot learn what a bleed looks like, and its test accuracy stays close to "
            "a coin toss.",
            {"normal": 30, "hemorrhage": 30}, epochs=15,
        ),
        _recipe(
            "experiment2", "Class imbalance",
            "1000 normal slices and only 30 with hemorrhage. Accuracy looks excellent because "
            "almost every test slice is normal, yet the model misses most of the bleeds: the "
            "confusion matrix tells the truth that accuracy hides.",
            {"normal": 1000, "hemorrhage": 30},
        ),
        _recipe(
            "experiment3", "A balanced data set",
            "1000 normal slices and 1000 with hemorrhage. Accuracy is lower than in experiment 2, "
            "but now the model finds most hemorrhages.",
            BALANCED,
        ),
        _recipe(
            "experiment4", "More epochs: overfitting",
            "Experiment 3's images trained for 75 epochs. Training accuracy keeps climbing while "
            "test accuracy stalls and test loss turns upward: the model memorises its training set.",
            BALANCED, epochs=75,
        ),
        _recipe(
            "experiment4-250", "Many more epochs",
            "Experiment 3's images trained for 250 epochs: the gap between training and test "
            "grows wider still.",
            BALANCED, epochs=250,
        ),
        _recipe(
            "experiment5", "Colour-coding blood",
            "Experiment 3's images with every pixel in the Hounsfield range of fresh blood painted "
            "red before the model sees it. The same model on the same slices does better.",
            BALANCED, preprocess=COLOR,
        ),
        _recipe(
            "experiment5-masked", "Colour-coding inside the skull",
            "As experiment 5, but only pixels inside the skull are painted, so the rim of cortex "
            "that partial-volume averaging puts in the blood range is left gray.",
            BALANCED, preprocess=COLOR_INSIDE_SKULL,
        ),
        _recipe(
            "experiment5-3class-gray", "Three classes, grayscale",
            "80 normal slices, 80 with only an intraparenchymal and 80 with only a subdural "
            "hemorrhage, in the brain window. Three classes from few images is hard.",
            THREE_BY_80, rule=THREE_CLASSES,
        ),
        _recipe(
            "experiment5-3class-color", "Three classes, colour-coded",
            "The same 240 slices as the grayscale 3-class experiment, with blood painted red: "
            "colour-coding lifts the accuracy clearly.",
            THREE_BY_80, rule=THREE_CLASSES, preprocess=COLOR,
        ),
    )
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; a clear error lists the valid names."""
    try:
        return RECIPES[name]
    except KeyError:
        raise DataError(f"No recipe called '{name}'. Recipes: {', '.join(RECIPES)}.") from None
