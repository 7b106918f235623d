"""Render every figure of rsna_workshop.figures for one training result into docs/gallery/.

    .venv/bin/python docs/render_gallery.py            # experiment 3 on the built-in cohort,
                                                       # plus Grad-CAM of experiment 5 and the
                                                       # three-class colour-coded panel
    .venv/bin/python docs/render_gallery.py --small    # a small stand-in, where the trainer or
                                                       # the cohort is not available

The stand-in trains the same kind of head (Dense softmax on the frozen backbone) with Keras on
a few dozen freshly generated synthetic slices, so its numbers are real, only fewer.
"""

from __future__ import annotations

import argparse
import time
import types
from pathlib import Path

import numpy as np

from rsna_workshop import evaluation, figures, widgets

GALLERY = Path(__file__).resolve().parent / "gallery"
DPI = 100


def run_recipe(name: str, seed: int):
    """Train one experiment recipe on the built-in cohort with the recipe's settings."""
    from rsna_workshop.recipes import get_recipe
    from rsna_workshop.training import train

    recipe = get_recipe(name)
    return train(recipe.dataset(seed=seed), epochs=recipe.epochs, batch_size=recipe.batch_size,
                 learning_rate=recipe.learning_rate, seed=seed)


def small_result(seed: int, per_class: int = 60, epochs: int = 30):
    """A small real training result: synthetic slices, frozen backbone, Keras-trained head."""
    import keras

    from rsna_workshop import imaging, weights
    from rsna_workshop.synthetic import SUBTYPES, generate_slice

    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], per_class)
    preprocess = imaging.Preprocess()
    images = np.stack([
        preprocess(generate_slice(1000 * seed + i, level=rng.uniform(0.35, 0.8),
                                  subtypes=(rng.choice(SUBTYPES),) if y else ()).hu)
        for i, y in enumerate(labels)
    ])
    test = np.concatenate([np.arange(per_class)[:9], per_class + np.arange(per_class)[:9]])
    train = np.setdiff1d(np.arange(len(labels)), test)
    keras.utils.set_random_seed(seed)
    backbone = weights.build_backbone()
    embeddings = backbone.predict(figures.scale_for_model(images), verbose=0)
    head = keras.Sequential([keras.Input((weights.EMBEDDING_SIZE,)),
                             keras.layers.Dense(2, activation="softmax")])
    head.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    fit = head.fit(embeddings[train], labels[train], batch_size=16, epochs=epochs, verbose=0,
                   validation_data=(embeddings[test], labels[test]))
    model = keras.Sequential([keras.Input((224, 224, 3)), backbone, head])
    probabilities = head.predict(embeddings[test], verbose=0)
    dataset = types.SimpleNamespace(
        image=lambda i: images[i], preprocess=preprocess,
        items=[types.SimpleNamespace(id=f"synthetic_{i:03d}") for i in range(len(images))])
    history = {"accuracy": fit.history["accuracy"], "loss": fit.history["loss"],
               "test_accuracy": fit.history["val_accuracy"], "test_loss": fit.history["val_loss"]}
    return types.SimpleNamespace(
        classes=("normal", "hemorrhage"), history=history, test_index=test,
        test_labels=labels[test], test_probabilities=probabilities, dataset=dataset,
        keras_model=lambda: model,
        predict=lambda batch: model.predict(figures.scale_for_model(batch), verbose=0))


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
    positive = evaluation.positive_index(classes)
    positives = np.flatnonzero(labels == positive)  # preview: a case with two visible bars
    middling = positives[np.argmin(abs(probabilities[positives, positive] - 0.75))]
    shown = int(result.test_index[middling])
    makers = {
        "under_the_hood": lambda: figures.under_the_hood(result),
        "metrics": lambda: figures.metrics_figure(result),
        "roc": lambda: figures.roc_figure(result),
        "threshold_0.30": lambda: figures.threshold_figure(result, 0.30),
        "prevalence": lambda: figures.result_prevalence_figure(result),
        "misclassified": lambda: figures.misclassified_figure(result),
        "gradcam": lambda: figures.gradcam_figure(result, gradcam_cases(result)),
        "embedding_pca": lambda: figures.embedding_map(result, "pca"),
        "embedding_tsne": lambda: figures.embedding_map(result, "tsne"),
        "preview_probabilities": lambda: widgets.probability_figure(
            result.dataset.image(shown), classes,
            np.asarray(result.predict(result.dataset.image(shown)[None])).reshape(-1)),
    }
    for name, make in makers.items():
        save(make(), out / f"{name}.png")


def render_color_coded(seed: int, out: Path) -> None:
    """Where a colour-coded model looks (experiment 5), and the three-class panel."""
    color = run_recipe("experiment5", seed)
    save(figures.gradcam_figure(color, gradcam_cases(color)), out / "gradcam_color_coded.png")
    three = run_recipe("experiment5-3class-color", seed)
    save(figures.under_the_hood(three), out / "under_the_hood_3class_color_coded.png")


def save(fig, path: Path) -> None:
    """Write a figure as PNG at the gallery's resolution."""
    fig.savefig(path, dpi=DPI)
    print(f"wrote {path}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="small stand-in result (see above)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=GALLERY)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = small_result(args.seed) if args.small else run_recipe("experiment3", args.seed)
    print(f"result ready in {time.perf_counter() - start:.1f} s "
          f"({len(result.test_labels)} test images, classes {result.classes})")
    render(result, args.out)
    if not args.small:
        render_color_coded(args.seed, args.out)


if __name__ == "__main__":
    main()
