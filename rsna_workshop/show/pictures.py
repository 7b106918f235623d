"""Figures that show images: samples of a data set, the misclassified slices, Grad-CAM, the
embedding map, and the model's output for one image.

Each returns a ``matplotlib.figure.Figure`` whose ``data`` attribute holds what it shows. Those
that take a training result need its images (``result.test_images()``): a result loaded from disk
whose image files are gone gives a clear error instead.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import PercentFormatter

from .. import evaluation
from ..errors import SettingsError
from ..model import embed, gradcam, project_2d
from .style import CLASS_COLORS, VERMILLION, new_figure, percent, styled, wrap


@styled
def samples_figure(dataset, per_class: int = 4, seed: int = 0):
    """A look at the data: ``per_class`` slices of each class, as the model sees them, one row each,
    each slice captioned with the hemorrhage subtypes its labels name (where they name any).

    ``fig.data["ids"]`` maps each class to the item ids shown (chosen at random with ``seed``).
    """
    rng = np.random.default_rng(seed)
    labels = dataset.labels()
    fig, axes = new_figure(len(dataset.classes), per_class,
                           size=(3.6 * per_class, 3.9 * len(dataset.classes)))
    fig.data = {"ids": {}}
    for row, name in enumerate(dataset.classes):
        members = np.flatnonzero(labels == row)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        fig.data["ids"][name] = [dataset.items[i].id for i in chosen]
        images = dataset.images(int(i) for i in chosen)
        for col, ax in enumerate(axes[row]):
            ax.axis("off")
            if col < len(chosen):
                ax.imshow(images[col])
                ax.text(0.5, -0.02, "\n".join(dataset.items[chosen[col]].findings), transform=ax.transAxes,
                        ha="center", va="top")
        axes[row, 0].set_title(f"{name} ({len(members)} slices)", loc="left", fontsize=18)
    fig.suptitle(f"{dataset.name}: {per_class} random slices per class, as the model sees them")
    return fig


@styled
def slices_figure(result, positions, title: str, columns: int = 4, saliency: bool = False):
    """Test slices (``positions`` in the test set) with the model's call and its probability;
    with ``saliency``, Grad-CAM of the call over each.

    ``fig.data["cases"]`` lists, per slice shown: ``id``, ``true``, ``predicted`` and
    ``probabilities`` (class name to probability).
    """
    labels, probabilities, classes = evaluation.result_arrays(result)
    positions = [int(j) for j in positions]
    if not positions:
        fig, axes = new_figure(size=(12, 3))
        axes[0, 0].axis("off")
        axes[0, 0].text(0.5, 0.5, f"{title}: none", ha="center", va="center", fontsize=26)
        fig.data = {"cases": []}
        return fig
    images = result.test_images(positions)
    model = result.classifier.keras_model() if saliency else None
    rows = int(np.ceil(len(positions) / columns))
    fig, axes = new_figure(rows, columns, size=(4 * columns, 5 * rows))
    cases = []
    for ax, j, image in zip(axes.flat, positions, images):
        k = int(probabilities[j].argmax())
        if model is None:
            ax.imshow(image)
        else:
            draw_gradcam(ax, image, gradcam(model, image, k))
        cases.append({"id": result.test_ids[j], "true": classes[labels[j]], "predicted": classes[k],
                      "probabilities": dict(zip(classes, probabilities[j].round(3).tolist()))})
        ax.set_title(f"true: {classes[labels[j]]}\nmodel: {classes[k]} {percent(probabilities[j, k])}",
                     fontsize=18, color=VERMILLION if k != labels[j] else "black")
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(title)
    fig.data = {"cases": cases}
    return fig


def misclassified_figure(result, n: int = 8, columns: int = 4):
    """The test slices the model got wrong, most confident mistakes first, with probabilities."""
    wrong = evaluation.mistakes(result)
    title = (f"Misclassified test slices ({min(n, len(wrong))} shown of {len(wrong)})" if len(wrong)
             else "Misclassified test slices")
    return slices_figure(result, wrong[:n], title, columns)


@styled
def draw_gradcam(ax, image, cam, alpha: float = 0.45) -> None:
    """The CT image with the Grad-CAM map over it (inferno: bright is where the model looks)."""
    ax.imshow(image)
    ax.imshow(cam, cmap="inferno", alpha=alpha, vmin=0, vmax=1)
    ax.axis("off")


@styled
def gradcam_figure(result, indices=None, n: int = 4, class_index: int | None = None):
    """Test slices with Grad-CAM over them: where the model looks when it calls each class.

    ``indices`` are positions in the test set (default: the first ``n``). Each column shows the
    slice above its overlay. ``fig.data["maps"]`` holds the (224, 224) maps, ``fig.data["cases"]``
    the id, true class, explained class and its probability.
    """
    labels, probabilities, classes = evaluation.result_arrays(result)
    indices = list(range(min(n, len(labels)))) if indices is None else list(indices)
    outside = [j for j in indices if not -len(labels) <= j < len(labels)]
    if outside:
        raise SettingsError(f"indices {outside} are not positions in the test set, which has "
                            f"{len(labels)} slices: use 0 to {len(labels) - 1}.")
    if class_index is not None and not 0 <= class_index < len(classes):
        raise SettingsError(f"class_index {class_index} is not a class: use 0 to {len(classes) - 1} "
                            f"for {list(classes)}, or None to explain each predicted class.")
    images = result.test_images(indices)
    model = result.classifier.keras_model()
    fig, axes = new_figure(2, len(indices), size=(4 * len(indices), 9.5))
    maps, cases = [], []
    for column, (j, image) in enumerate(zip(indices, images)):
        k = int(probabilities[j].argmax()) if class_index is None else int(class_index)
        cam = gradcam(model, image, k)
        maps.append(cam)
        cases.append({"id": result.test_ids[j], "true": classes[labels[j]],
                      "explained": classes[k], "probability": float(probabilities[j, k])})
        axes[0, column].imshow(image)
        axes[0, column].axis("off")
        axes[0, column].set_title(f"true: {classes[labels[j]]}", fontsize=20)
        draw_gradcam(axes[1, column], image, cam)
        wrong = class_index is None and k != labels[j]
        axes[1, column].set_title(
            f"model: {classes[k]}\n{percent(probabilities[j, k])}" + (", wrong" if wrong else ""),
            fontsize=20, color=VERMILLION if wrong else "black")
    fig.suptitle("Where does the model look? (Grad-CAM)")
    fig.data = {"maps": maps, "cases": cases}
    return fig


@styled
def embedding_figure(embeddings, labels, classes, method: str = "pca", random_state: int = 0):
    """Each image as a dot placed by its backbone embedding (PCA or t-SNE), coloured by class.

    Classes that form separate clouds are easy for the small head to tell apart.
    ``fig.data`` holds ``coordinates`` (n, 2) and ``labels``.
    """
    labels = np.asarray(labels, dtype=int)
    coordinates = project_2d(embeddings, method, random_state)
    fig, axes = new_figure(size=(12, 10))
    ax = axes[0, 0]
    markers = "osD^vP*X"
    for k, name in enumerate(classes):
        mine = labels == k
        ax.scatter(*coordinates[mine].T, s=70, alpha=0.75, color=CLASS_COLORS[k % len(CLASS_COLORS)],
                   marker=markers[k % len(markers)], edgecolors="white", linewidths=0.5,
                   label=f"{name} ({int(mine.sum())})")
    ax.set_xticks([])
    ax.set_yticks([])
    title = {"pca": "PCA", "tsne": "t-SNE"}[method]
    ax.set_xlabel(f"{title} 1")
    ax.set_ylabel(f"{title} 2")
    ax.legend(loc="best", markerscale=1.6)
    ax.set_title(f"What the frozen backbone sees: {len(labels)} images ({title})")
    fig.data = {"coordinates": coordinates, "labels": labels}
    return fig


def embedding_map(result, method: str = "pca", random_state: int = 0):
    """:func:`embedding_figure` of a result's test images (embeddings from the on-disk cache)."""
    if result.dataset is None:
        result.test_images()  # raises the clear "no images" error
    labels, _, classes = evaluation.result_arrays(result)
    embeddings = embed(result.dataset.subset(result.test_index))
    return embedding_figure(embeddings, labels, classes, method, random_state)


@styled
def probability_figure(image: np.ndarray, classes, probabilities):
    """An image beside one horizontal bar per class, like Teachable Machine's preview."""
    fig, axes = new_figure(1, 2, size=(15, 5.5), width_ratios=[1, 2])
    axes[0, 0].imshow(image)
    axes[0, 0].axis("off")
    ax = axes[0, 1]
    y = np.arange(len(classes))[::-1]
    ax.barh(y, probabilities, color=[CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(len(classes))])
    for yi, p in zip(y, probabilities):
        inside = p > 0.8  # write on the bar, in white, where there is no room beside it
        ax.text(p - 0.02 if inside else p + 0.02, yi, percent(p), va="center",
                ha="right" if inside else "left", fontsize=22, weight="bold",
                color="white" if inside else "black")
    ax.set_yticks(y, [wrap(c) for c in classes], fontsize=20)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1))
    ax.set_title("Model output")
    fig.data = {"probabilities": dict(zip(classes, np.asarray(probabilities).tolist()))}
    return fig
