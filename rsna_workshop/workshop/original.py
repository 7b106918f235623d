"""What the original workshop found, on real RSNA 2019 images with Teachable Machine, per lesson.

The RSNA 2021 session "How Does AI in Medical Imaging Work? Learn by Creating Your Own Model"
(instructors Errol Colak, Felipe C. Kitamura, Luciano M. Prevedello and Tara Retson) published its
experiments with screenshots of Teachable Machine's results. The counts below are those results
on Teachable Machine's test sets (15 % of each class): the notebooks show them beside the learner's
own run (:func:`rsna_workshop.show.comparisons.against_original`).

>>> ORIGINAL_RESULTS["experiment1"].accuracy
(6, 10)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OriginalResult:
    """One published result: ``accuracy`` and ``found`` (hemorrhages found) as (right, n) counts.

    ``published`` is the accuracy as the original showed it (e.g. "0.97") when only a rounded
    proportion was published; ``accuracy`` is then a count of the test set that rounds to it.
    """

    what: str
    accuracy: tuple[int, int]
    found: tuple[int, int] | None = None
    train_accuracy: float | None = None
    note: str = ""
    published: str | None = None


ORIGINAL_RESULTS = {
    "experiment1": OriginalResult("Experiment 1, 30 normal + 30 hemorrhage", (6, 10)),
    "experiment2": OriginalResult("Experiment 2, 1,000 normal + 30 hemorrhage", (150, 155), (0, 5),
                                  published="0.97"),
    "experiment3": OriginalResult("Experiment 3, 1,000 normal + 1,000 hemorrhage", (216, 300), (115, 150),
                                  published="0.72"),
    "experiment4": OriginalResult(
        "Experiment 3's images trained for 75 epochs", (216, 300), train_accuracy=0.90,
        note="training accuracy about 0.90, the test loss rising, fewer hemorrhages found than at 15 epochs",
        published="0.72"),
    "experiment5-3class-gray": OriginalResult("Three classes, 80 slices each, grayscale", (19, 36),
                                              published="0.53"),
    "experiment5-3class-color": OriginalResult("Three classes, 80 slices each, colour-coded", (28, 36),
                                               published="0.78"),
    "experiment5": OriginalResult("80 normal + 80 hemorrhage, colour-coded", (22, 24), published="0.92"),
}
"""The original's results by the recipe of the same lesson. Where only a rounded proportion was
published (``published``), ``accuracy`` holds a count of Teachable Machine's test set that rounds
to it, and the notebooks say so."""
