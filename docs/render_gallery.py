"""Render every figure of rsna_workshop.show for one training result into docs/gallery/.

    .venv/bin/python docs/render_gallery.py     # experiment 3 on the built-in cohort, plus Grad-CAM
                                                # of experiment 5 and the three-class colour panel
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from rsna_workshop import evaluation
from rsna_workshop.model import train
from rsna_workshop.show import figures, pictures
from rsna_workshop.workshop import open_data

GALLERY = Path(__file__).resolve().parent / "gallery"
DPI = 100


def run_recipe(name: str, seed: int):
    """Train one experiment recipe on the built-in cohort with the recipe's settings."""
    return train(open_data(name, seed=seed), seed=seed)


def gradcam_cases(result, n: int = 4) -> list[int]:
    """Test positions to explain: mistakes first, then confident hits of each class."""
    labels, probabilities, _ = evaluation.result_arrays(result)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = [int(j) for j in np.flatnonzero(predicted != labels)][: n // 2]
    right = [int(j) for k in np.unique(labels)
             for j in np.flatnonzero((predicted == labels) & (labels == k))[np.argsort(
                 -confidence[(predicted == labels) & (labels == k)])][:1]]
    return (wrong + right)[:n]


def render(result, out: Path) -> None:
    """Save every figure of ``result`` as PNG under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    labels, probabilities, classes = evaluation.result_arrays(result)
    positive = evaluation.result_positive(result)
    positives = np.flatnonzero(labels == positive)  # preview: a case with two visible bars
    middling = int(positives[np.argmin(abs(probabilities[positives, positive] - 0.75))])
    image = result.test_images([middling])[0]
    makers = {
        "under_the_hood": lambda: figures.under_the_hood(result),
        "metrics": lambda: figures.metrics_figure(result),
        "roc": lambda: figures.roc_figure(result),
        "threshold_0.30": lambda: figures.threshold_figure(result, 0.30),
        "prevalence": lambda: figures.result_prevalence_figure(result),
        "misclassified": lambda: pictures.misclassified_figure(result),
        "gradcam": lambda: pictures.gradcam_figure(result, gradcam_cases(result)),
        "embedding_pca": lambda: pictures.embedding_map(result, "pca"),
        "embedding_tsne": lambda: pictures.embedding_map(result, "tsne"),
        "preview_probabilities": lambda: pictures.probability_figure(
            image, classes, result.classifier.predict(image).reshape(-1)),
    }
    for name, make in makers.items():
        save(make(), out / f"{name}.png")


def render_color_coded(seed: int, out: Path) -> None:
    """Where a colour-coded model looks (experiment 5), and the three-class panel."""
    color = run_recipe("experiment5", seed)
    save(pictures.gradcam_figure(color, gradcam_cases(color)), out / "gradcam_color_coded.png")
    three = run_recipe("experiment5-3class-color", seed)
    save(figures.under_the_hood(three), out / "under_the_hood_3class_color_coded.png")


def save(fig, path: Path) -> None:
    """Write a figure as PNG at the gallery's resolution."""
    fig.savefig(path, dpi=DPI)
    print(f"wrote {path}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=GALLERY)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = run_recipe("experiment3", args.seed)
    print(f"result ready in {time.perf_counter() - start:.1f} s "
          f"({len(result.test_labels)} test images, classes {result.classes})")
    render(result, args.out)
    render_color_coded(args.seed, args.out)


if __name__ == "__main__":
    main()
