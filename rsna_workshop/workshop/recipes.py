"""The workshop's experiments, one recipe per lesson: which images, how they are shown, how long
the model trains. Every number lives in :data:`RECIPES` below; recipes are plain data, and
:func:`rsna_workshop.workshop.open_data` turns one into a data set.

The training settings are the original workshop's, read from its project files and screenshots:
experiments 1 and 2 train 15 epochs at learning rate 0.00003, experiment 3 15 epochs at 0.00008,
experiment 4 75 (and 250) epochs at 0.00005, the three-class experiments 80 epochs at 0.00002,
all with batch 16. Teachable Machine's own defaults (50 epochs, 0.001) stay one call away:
``recipe.training_settings("teachable-machine")``.

>>> recipe = get_recipe("experiment1")
>>> recipe.counts, recipe.settings
({'normal': 30, 'hemorrhage': 30}, TrainingSettings(epochs=15, batch_size=16, learning_rate=3e-05))
>>> recipe.training_settings("teachable-machine")
TrainingSettings(epochs=50, batch_size=16, learning_rate=0.001)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..datasets import TEACHABLE_MACHINE, TrainingSettings, guess_positive, rule_classes
from ..errors import DataError, SettingsError
from ..imaging import Preprocess

GRAY = Preprocess()
COLOR = Preprocess(color_code=True)
COLOR_INSIDE_SKULL = Preprocess(color_code=True, inside_skull=True)
COLOR_TRANSLUCENT = Preprocess(color_code=True, opacity=0.5)
"""The original workshop's look: blood-range pixels tinted red over the gray image, not replaced."""
THREE_CLASSES = ("normal", "intraparenchymal", "subdural")

SMALL = TrainingSettings(epochs=15, batch_size=16, learning_rate=0.00003)  # experiments 1 and 2
BALANCED_SETTINGS = TrainingSettings(epochs=15, batch_size=16, learning_rate=0.00008)  # experiment 3
LONGER = TrainingSettings(epochs=75, batch_size=16, learning_rate=0.00005)  # experiment 4
THREE_CLASS_SETTINGS = TrainingSettings(epochs=80, batch_size=16, learning_rate=0.00002)
SETTINGS_CHOICES = ("original", "teachable-machine")
"""Which training settings a recipe runs with: the original workshop's (its own) or Teachable
Machine's defaults (see :meth:`Recipe.training_settings`)."""


@dataclass(frozen=True)
class Recipe:
    """One experiment: data (class rule and images per class), preprocessing and training settings.

    ``settings`` are the original workshop's for this lesson. ``original`` names the original
    workshop's project with this lesson's images (:data:`~rsna_workshop.datasets.ORIGINAL_PROJECTS`),
    or None; on that project the file's own settings apply, except those named in
    ``original_changes``, which the lesson changes (lesson 4 trains the balanced project longer,
    at another learning rate).
    """

    name: str
    title: str
    description: str
    rule: str | tuple[str, ...]
    counts: dict = field(hash=False)
    preprocess: Preprocess = GRAY
    settings: TrainingSettings = SMALL
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

    def training_settings(self, choice: str = "original") -> TrainingSettings:
        """The recipe's settings (``"original"``) or Teachable Machine's defaults
        (``"teachable-machine"``: 50 epochs at 0.001, except where the lesson is about epochs).

        >>> get_recipe("experiment4").training_settings("teachable-machine").epochs
        75
        """
        if choice == "original":
            return self.settings
        if choice == "teachable-machine":
            epochs = self.settings.epochs if "epochs" in self.original_changes else None
            return TEACHABLE_MACHINE.replace(epochs=epochs)
        raise SettingsError(f"settings must be one of {', '.join(SETTINGS_CHOICES)} (got {choice!r}).")


BALANCED = {"normal": 1000, "hemorrhage": 1000}
THREE_BY_80 = {name: 80 for name in THREE_CLASSES}
LESSON_4_CHANGES = ("epochs", "learning_rate")

RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            "experiment1", "A small data set",
            "30 normal slices and 30 with hemorrhage, trained for 15 epochs at learning rate "
            "0.00003 (the original workshop's settings). With so few examples the model cannot "
            "learn what a bleed looks like, and its test accuracy stays close to a coin toss.",
            rule="hemorrhage", counts={"normal": 30, "hemorrhage": 30}, settings=SMALL,
            original="original-small",
        ),
        Recipe(
            "experiment2", "Class imbalance",
            "1000 normal slices and only 30 with hemorrhage, trained for 15 epochs at learning rate "
            "0.00003 (the original workshop's settings). Accuracy looks excellent because almost "
            "every test slice is normal, yet the model misses most of the bleeds: the confusion "
            "matrix tells the truth that accuracy hides.",
            rule="hemorrhage", counts={"normal": 1000, "hemorrhage": 30}, settings=SMALL,
            original="original-imbalanced",
        ),
        Recipe(
            "experiment3", "A balanced data set",
            "1000 normal slices and 1000 with hemorrhage, trained for 15 epochs at learning rate "
            "0.00008 (the original workshop's settings). Accuracy is lower than in experiment 2, "
            "but now the model finds most hemorrhages.",
            rule="hemorrhage", counts=BALANCED, settings=BALANCED_SETTINGS, original="original-balanced",
        ),
        Recipe(
            "experiment4", "More epochs: overfitting",
            "Experiment 3's images trained for 75 epochs at learning rate 0.00005, as the original "
            "workshop did. Training accuracy keeps climbing while test accuracy stalls and the test "
            "loss stops improving: the model starts to memorise its training set.",
            rule="hemorrhage", counts=BALANCED, settings=LONGER,
            original="original-balanced", original_changes=LESSON_4_CHANGES,
        ),
        Recipe(
            "experiment4-250", "Many more epochs",
            "Experiment 3's images trained for 250 epochs at learning rate 0.00005, the original "
            "workshop's follow-up: the gap between training and test grows wider still and the test "
            "loss turns clearly upward.",
            rule="hemorrhage", counts=BALANCED, settings=LONGER.replace(epochs=250),
            original="original-balanced", original_changes=LESSON_4_CHANGES,
        ),
        Recipe(
            "experiment5", "Colour-coding blood",
            "Experiment 3's images with every pixel in the Hounsfield range of fresh blood painted "
            "red before the model sees it, trained exactly like experiment 3 (15 epochs, learning "
            "rate 0.00008): only the picture differs, so the difference in accuracy is the "
            "colour-coding's. The same model on the same slices does better, and the bleeds that "
            "measure below 50 HU (hyperacute, anaemic, subacute or chronic) stay gray.",
            rule="hemorrhage", counts=BALANCED, preprocess=COLOR, settings=BALANCED_SETTINGS,
            original="original-color",
        ),
        Recipe(
            "experiment5-masked", "Colour-coding inside the skull",
            "As experiment 5 (same images, 15 epochs, learning rate 0.00008), but only pixels inside "
            "the skull are painted, so the rim of cortex that partial-volume averaging puts in the "
            "blood range is left gray.",
            rule="hemorrhage", counts=BALANCED, preprocess=COLOR_INSIDE_SKULL, settings=BALANCED_SETTINGS,
        ),
        Recipe(
            "experiment5-translucent", "Colour-coding, the original's look",
            "As experiment 5 (same images, 15 epochs, learning rate 0.00008), but the blood-range "
            "pixels are tinted red at half opacity over the gray, as in the original workshop's "
            "pictures, instead of painted solid red: the texture under the paint stays visible.",
            rule="hemorrhage", counts=BALANCED, preprocess=COLOR_TRANSLUCENT, settings=BALANCED_SETTINGS,
        ),
        Recipe(
            "experiment5-3class-gray", "Three classes, grayscale",
            "80 normal slices, 80 with only an intraparenchymal and 80 with only a subdural "
            "hemorrhage, in the brain window, trained for 80 epochs at learning rate 0.00002 (the "
            "original workshop's settings). Three classes from few images is hard.",
            rule=THREE_CLASSES, counts=THREE_BY_80, settings=THREE_CLASS_SETTINGS,
            original="original-3class-gray",
        ),
        Recipe(
            "experiment5-3class-color", "Three classes, colour-coded",
            "The same 240 slices and settings (80 epochs, learning rate 0.00002) as the grayscale "
            "3-class experiment, with blood painted red: colour-coding lifts the accuracy clearly.",
            rule=THREE_CLASSES, counts=THREE_BY_80, preprocess=COLOR, settings=THREE_CLASS_SETTINGS,
            original="original-3class-color",
        ),
    )
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; a clear error lists the valid names."""
    try:
        return RECIPES[name]
    except KeyError:
        raise DataError(f"No recipe called '{name}'. Recipes: {', '.join(RECIPES)}.") from None
