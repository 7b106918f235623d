"""The workshop's experiments, one recipe per lesson: which images, how they are shown, how long
the model trains. Every number lives in :data:`RECIPES` below; recipes are plain data, and
:func:`rsna_workshop.workshop.open_data` turns one into a data set.

>>> recipe = get_recipe("experiment1")
>>> recipe.counts, recipe.settings.epochs
({'normal': 30, 'hemorrhage': 30}, 15)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..datasets import TEACHABLE_MACHINE, TrainingSettings, guess_positive, rule_classes
from ..errors import DataError
from ..imaging import Preprocess

GRAY = Preprocess()
COLOR = Preprocess(color_code=True)
COLOR_INSIDE_SKULL = Preprocess(color_code=True, inside_skull=True)
THREE_CLASSES = ("normal", "intraparenchymal", "subdural")


@dataclass(frozen=True)
class Recipe:
    """One experiment: data (class rule and images per class), preprocessing and training settings.

    ``original`` names the original workshop's project with this lesson's images
    (:data:`~rsna_workshop.datasets.ORIGINAL_PROJECTS`), or None; on that project the file's own
    settings apply, except those named in ``original_changes``, which the lesson changes (lesson 4
    trains the balanced project longer).
    """

    name: str
    title: str
    description: str
    rule: str | tuple[str, ...]
    counts: dict = field(hash=False)
    preprocess: Preprocess = GRAY
    settings: TrainingSettings = TEACHABLE_MACHINE
    original: str | None = None
    original_changes: tuple[str, ...] = ()

    @property
    def classes(self) -> tuple[str, ...]:
        """The recipe's classes, in order."""
        return rule_classes(self.rule)

    @property
    def positive(self) -> str | None:
        """The class that means "disease present" (None for the three-class recipes)."""
        return guess_positive(self.classes)


BALANCED = {"normal": 1000, "hemorrhage": 1000}
THREE_BY_80 = {name: 80 for name in THREE_CLASSES}

RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            "experiment1", "A small data set",
            "30 normal slices and 30 with hemorrhage, trained for 15 epochs. With so few examples "
            "the model cannot learn what a bleed looks like, and its test accuracy stays close to "
            "a coin toss.",
            rule="hemorrhage", counts={"normal": 30, "hemorrhage": 30},
            settings=TEACHABLE_MACHINE.replace(epochs=15), original="original-small",
        ),
        Recipe(
            "experiment2", "Class imbalance",
            "1000 normal slices and only 30 with hemorrhage. Accuracy looks excellent because "
            "almost every test slice is normal, yet the model misses most of the bleeds: the "
            "confusion matrix tells the truth that accuracy hides.",
            rule="hemorrhage", counts={"normal": 1000, "hemorrhage": 30},
            original="original-imbalanced",
        ),
        Recipe(
            "experiment3", "A balanced data set",
            "1000 normal slices and 1000 with hemorrhage. Accuracy is lower than in experiment 2, "
            "but now the model finds most hemorrhages.",
            rule="hemorrhage", counts=BALANCED, original="original-balanced",
        ),
        Recipe(
            "experiment4", "More epochs: overfitting",
            "Experiment 3's images trained for 75 epochs. Training accuracy keeps climbing while "
            "test accuracy stalls and test loss turns upward: the model memorises its training set.",
            rule="hemorrhage", counts=BALANCED, settings=TEACHABLE_MACHINE.replace(epochs=75),
            original="original-balanced", original_changes=("epochs",),
        ),
        Recipe(
            "experiment4-250", "Many more epochs",
            "Experiment 3's images trained for 250 epochs: the gap between training and test "
            "grows wider still.",
            rule="hemorrhage", counts=BALANCED, settings=TEACHABLE_MACHINE.replace(epochs=250),
            original="original-balanced", original_changes=("epochs",),
        ),
        Recipe(
            "experiment5", "Colour-coding blood",
            "Experiment 3's images with every pixel in the Hounsfield range of fresh blood painted "
            "red before the model sees it. The same model on the same slices does better.",
            rule="hemorrhage", counts=BALANCED, preprocess=COLOR, original="original-color",
        ),
        Recipe(
            "experiment5-masked", "Colour-coding inside the skull",
            "As experiment 5, but only pixels inside the skull are painted, so the rim of cortex "
            "that partial-volume averaging puts in the blood range is left gray.",
            rule="hemorrhage", counts=BALANCED, preprocess=COLOR_INSIDE_SKULL,
        ),
        Recipe(
            "experiment5-3class-gray", "Three classes, grayscale",
            "80 normal slices, 80 with only an intraparenchymal and 80 with only a subdural "
            "hemorrhage, in the brain window. Three classes from few images is hard.",
            rule=THREE_CLASSES, counts=THREE_BY_80, original="original-3class-gray",
        ),
        Recipe(
            "experiment5-3class-color", "Three classes, colour-coded",
            "The same 240 slices as the grayscale 3-class experiment, with blood painted red: "
            "colour-coding lifts the accuracy clearly.",
            rule=THREE_CLASSES, counts=THREE_BY_80, preprocess=COLOR, original="original-3class-color",
        ),
    )
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; a clear error lists the valid names."""
    try:
        return RECIPES[name]
    except KeyError:
        raise DataError(f"No recipe called '{name}'. Recipes: {', '.join(RECIPES)}.") from None
