"""Teachable Machine's "under the hood" panel and beyond, as projector-friendly matplotlib figures.

Every ``*_figure`` function (and :func:`under_the_hood`) returns a ``matplotlib.figure.Figure``
whose ``data`` attribute holds the numbers it shows, so tests and notebook text can quote them.
Figures are closed in pyplot at once: a notebook shows one when it is the cell's last value or is
passed to ``display``, never twice. The ``draw_*`` functions draw one panel on an ``Axes`` from
plain arrays; the figure functions take a training result, or any object with its attributes
(``classes``, ``history``, ``test_labels``, ``test_probabilities``, ``test_index``, ``dataset``,
``keras_model()``).

Colours are Okabe-Ito (safe for colour-blind viewers) and viridis; fonts are big enough to read
from the back of a lecture hall.
"""

from __future__ import annotations

import functools

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from rsna_workshop import evaluation
from rsna_workshop.embeddings import scale
from rsna_workshop.weights import IMAGE_SIZE

BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442",
)
CLASS_COLORS = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, YELLOW)
STYLE = {
    "font.size": 18,
    "axes.titlesize": 22,
    "axes.titleweight": "bold",
    "axes.labelsize": 19,
    "xtick.labelsize": 17,
    "ytick.labelsize": 17,
    "legend.fontsize": 17,
    "figure.titlesize": 26,
    "figure.titleweight": "bold",
    "lines.linewidth": 3,
    "lines.markersize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
GRADCAM_LAYER = "out_relu"  # MobileNetV2's last convolution block (Conv_1, batch norm, ReLU6)


def new_figure(rows: int = 1, cols: int = 1, size=(16, 9), **subplots_options):
    """A constrained-layout figure in the projector style, detached from pyplot's figure list."""
    with matplotlib.rc_context(STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=size, layout="constrained", squeeze=False,
                                 **subplots_options)
    plt.close(fig)
    fig.data = {}
    return fig, axes


def styled(draw):
    """Run a drawing function inside the projector style, so its text is big."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)

    return wrapper


# ---- panels on plain arrays ------------------------------------------------------------------


@styled
def draw_accuracy_table(ax, classes, matrix) -> None:
    """Teachable Machine's table: class, accuracy, number of test samples."""
    matrix = np.asarray(matrix)
    accuracy = evaluation.per_class_accuracy(matrix)
    cells = [
        [str(name), "-" if np.isnan(acc) else f"{acc:.2f}", str(int(n))]
        for name, acc, n in zip(classes, accuracy, matrix.sum(axis=1))
    ]
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=["Class", "Accuracy", "# samples"],
                     loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(18)
    table.scale(1, 3.2)
    for (row, _), cell in table.get_celld().items():
        if row == 0:
            cell.set_text_props(weight="bold", color="white")
            cell.set_facecolor(BLUE)
    ax.set_title("Accuracy per class")


@styled
def draw_confusion(ax, matrix, classes, title: str = "Confusion matrix") -> None:
    """Heatmap of counts: true class rows, predicted class columns, each count written in."""
    matrix = np.asarray(matrix)
    ax.imshow(matrix, cmap="viridis", vmin=0, vmax=max(1, matrix.max()))
    for (i, j), count in np.ndenumerate(matrix):
        dark = count < 0.6 * max(1, matrix.max())
        ax.text(j, i, str(count), ha="center", va="center", fontsize=26, weight="bold",
                color="white" if dark else "black")
    ticks = range(len(classes))
    crowded = len(classes) * max(len(str(c)) for c in classes) > 30
    ax.set_xticks(ticks, [wrap(c) for c in classes], rotation=25 if crowded else 0,
                  ha="right" if crowded else "center", rotation_mode="anchor")
    ax.set_yticks(ticks, [wrap(c) for c in classes])
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    ax.set_title(title)
    ax.spines[:].set_visible(False)


@styled
def draw_curves(ax, history, metric: str) -> None:
    """One metric per epoch, train (solid blue) and test (dashed vermillion)."""
    train, test = np.asarray(history[metric]), np.asarray(history[f"test_{metric}"])
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, color=BLUE, label="train")
    ax.plot(epochs, test, color=VERMILLION, linestyle="--", label="test")
    ax.set_xlabel("Epoch")
    ax.set_ylabel(metric.capitalize())
    ax.set_title(f"{metric.capitalize()} per epoch")
    if metric == "accuracy":
        ax.set_ylim(0, 1.02)
    ax.set_xlim(1, max(2, len(train)))
    ax.grid(alpha=0.3)
    ax.legend(loc="best")


@styled
def draw_metrics(ax, metrics: evaluation.BinaryMetrics) -> None:
    """Sensitivity, specificity, PPV, NPV as dots with Wilson 95 % CI bars."""
    rows = metrics.rows()[::-1]
    for y, (name, interval) in enumerate(rows):
        if not interval.n:  # e.g. PPV when the model never says "hemorrhage"
            ax.text(1.04, y, "n/a: no cases\n0/0", va="center", fontsize=18)
            continue
        ax.errorbar(interval.estimate, y, xerr=[[interval.estimate - interval.low],
                    [interval.high - interval.estimate]], fmt="o", color=BLUE, capsize=8,
                    markersize=14, elinewidth=4, capthick=3)
        ax.text(1.04, y, f"{interval.estimate:.0%}  ({interval.low:.0%}-{interval.high:.0%})"
                f"\n{interval.successes}/{interval.n}", va="center", fontsize=18)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"With 95% confidence intervals (threshold {metrics.threshold:.2f})")


@styled
def draw_roc(ax, roc: evaluation.Roc, operating_point=None, threshold: float | None = None) -> None:
    """ROC curve with its AUC, the chance line, and the operating point (fpr, tpr) when given,
    labelled with its ``threshold``."""
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance (AUC 0.50)")
    ax.plot(roc.fpr, roc.tpr, color=BLUE, label=f"model (AUC {roc.auc:.3f})")
    if operating_point is not None:
        at = "" if threshold is None else f": threshold {threshold:.2f}"
        ax.plot(*operating_point, "o", color=VERMILLION, markersize=16, clip_on=False,
                label=f"operating point{at}")
    ax.set_xlabel("1 - specificity (false-positive rate)")
    ax.set_ylabel("Sensitivity (true-positive rate)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.03)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("ROC curve")


def wrap(name, width: int = 14) -> str:
    """A class name broken onto two lines when it is long, for tick labels."""
    name = str(name)
    if len(name) <= width or " " not in name:
        return name
    cut = name.rfind(" ", 0, width + 1)
    cut = cut if cut > 0 else name.find(" ")
    return name[:cut] + "\n" + name[cut + 1:]


def percent(p: float) -> str:
    """A probability as a whole percentage that never rounds a doubt away: '>99%', '<1%'."""
    if p >= 0.995:
        return ">99%"
    if p < 0.005:
        return "<1%"
    return f"{p:.0%}"


# ---- figures for a training result -------------------------------------------------------------


@styled
def under_the_hood(result):
    """Teachable Machine's "under the hood" panel in one figure.

    Accuracy per class (with the number of test samples), the confusion matrix (true rows,
    predicted columns), accuracy per epoch and loss per epoch, train and test.
    ``fig.data`` holds ``classes``, ``confusion_matrix``, ``per_class_accuracy``, ``n_test``
    and ``history``.
    """
    labels, probabilities, classes = evaluation.result_arrays(result)
    matrix = evaluation.confusion_matrix(labels, probabilities.argmax(axis=1), len(classes))
    fig, axes = new_figure(2, 2, size=(18, 12))
    draw_accuracy_table(axes[0, 0], classes, matrix)
    draw_confusion(axes[0, 1], matrix, classes)
    draw_curves(axes[1, 0], result.history, "accuracy")
    draw_curves(axes[1, 1], result.history, "loss")
    fig.suptitle("Under the hood")
    fig.data = {
        "classes": classes,
        "confusion_matrix": matrix,
        "per_class_accuracy": evaluation.per_class_accuracy(matrix),
        "n_test": matrix.sum(axis=1),
        "history": {k: list(v) for k, v in result.history.items()},
    }
    return fig


@styled
def metrics_figure(result, positive=None, threshold: float = 0.5):
    """Sensitivity, specificity, PPV and NPV with Wilson 95 % CIs, plus accuracy and balanced
    accuracy, for a two-class result. ``fig.data["metrics"]`` is the :class:`BinaryMetrics`."""
    metrics = evaluation.result_metrics(result, positive, threshold)
    name = result.classes[evaluation.positive_index(result.classes, positive)]
    fig, axes = new_figure(size=(16, 8))
    draw_metrics(axes[0, 0], metrics)
    fig.suptitle(
        f"Finding '{name}': accuracy {metrics.accuracy:.0%}, balanced accuracy "
        f"{metrics.balanced_accuracy:.0%}\n({metrics.tp + metrics.fn} with, "
        f"{metrics.tn + metrics.fp} without '{name}' in the test set)"
    )
    fig.data = {"metrics": metrics, "positive": name}
    return fig


def _operating_point(result, positive, threshold: float):
    """``(classes, k, metrics, roc, (fpr, tpr))`` of a result's positive class ``k`` at ``threshold``."""
    labels, probabilities, classes = evaluation.result_arrays(result)
    k = evaluation.positive_index(classes, positive)
    metrics = evaluation.result_metrics(result, k, threshold)
    curve = evaluation.roc(labels, probabilities[:, k], positive=k)
    return classes, k, metrics, curve, (1 - metrics.specificity.estimate, metrics.sensitivity.estimate)


@styled
def roc_figure(result, positive=None, threshold: float = 0.5):
    """ROC curve with AUC and the operating point at ``threshold`` (two-class result).

    ``fig.data`` holds ``roc`` (:class:`Roc`) and ``operating_point`` (fpr, tpr).
    """
    classes, k, metrics, curve, point = _operating_point(result, positive, threshold)
    fig, axes = new_figure(size=(11, 10))
    draw_roc(axes[0, 0], curve, point, threshold)
    axes[0, 0].set_title(f"ROC curve for '{classes[k]}'")
    fig.data = {"roc": curve, "operating_point": point}
    return fig


@styled
def threshold_figure(result, threshold: float = 0.5, positive=None):
    """The 2x2 confusion matrix when "positive" means probability >= ``threshold``, beside the
    ROC curve with that operating point. ``fig.data["metrics"]`` is the :class:`BinaryMetrics`."""
    classes, k, metrics, curve, point = _operating_point(result, positive, threshold)
    negative = classes[1 - k] if len(classes) == 2 else f"not {classes[k]}"
    fig, axes = new_figure(1, 2, size=(18, 8.5))
    draw_confusion(axes[0, 0], metrics.confusion_matrix, [negative, classes[k]],
                   title=f"Called '{classes[k]}' when p >= {threshold:.2f}")
    draw_roc(axes[0, 1], curve, point, threshold)
    fig.suptitle(f"Sensitivity {metrics.sensitivity.estimate:.0%}      "
                 f"Specificity {metrics.specificity.estimate:.0%}")
    fig.data = {"metrics": metrics}
    return fig


@styled
def prevalence_figure(sensitivity: float, specificity: float, workshop_prevalence: float,
                      ed_prevalence: float = evaluation.ED_PREVALENCE):
    """The prevalence lesson: the same sensitivity and specificity give a very different PPV in
    the workshop's balanced test set and in an emergency department.

    Left: PPV and NPV against prevalence. Right: what happens to 1,000 head CTs at each
    prevalence. ``fig.data`` holds ``ppv`` and ``per_1000`` for both prevalences.
    """
    prevalences = {"Workshop test set": workshop_prevalence, "Emergency department": ed_prevalence}
    fig, axes = new_figure(1, 2, size=(20, 9))
    draw_ppv_curve(axes[0, 0], sensitivity, specificity, prevalences)
    per_1000 = draw_per_1000(axes[0, 1], sensitivity, specificity, prevalences)
    fig.suptitle(f"Same model (sensitivity {sensitivity:.0%}, specificity {specificity:.0%}), "
                 f"different prevalence")
    fig.data = {
        "ppv": {name: float(evaluation.ppv_at_prevalence(sensitivity, specificity, p))
                for name, p in prevalences.items()},
        "per_1000": per_1000,
    }
    return fig


@styled
def draw_ppv_curve(ax, sensitivity, specificity, prevalences: dict) -> None:
    """PPV and NPV over prevalence 0.5-90 %, with the named prevalences marked."""
    grid = np.logspace(np.log10(0.005), np.log10(0.9), 200)
    ax.plot(grid, evaluation.ppv_at_prevalence(sensitivity, specificity, grid), color=BLUE,
            label="PPV")
    ax.plot(grid, evaluation.npv_at_prevalence(sensitivity, specificity, grid), color=GREEN,
            linestyle="--", label="NPV")
    for (name, p), color in zip(prevalences.items(), (ORANGE, VERMILLION)):
        ppv = float(evaluation.ppv_at_prevalence(sensitivity, specificity, p))
        ax.axvline(p, color=color, linestyle=":")
        ax.plot(p, ppv, "o", color=color, markersize=18, clip_on=False,
                label=f"{name}: prevalence {p:.0%}, PPV {ppv:.0%}")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1, decimals=0))
    ax.set_xticks([0.01, 0.02, 0.05, 0.1, 0.2, 0.5])
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1))
    ax.set_xlabel("Prevalence of hemorrhage")
    ax.set_ylabel("Predictive value")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    ax.set_title("PPV falls with prevalence")


@styled
def draw_per_1000(ax, sensitivity, specificity, prevalences: dict) -> dict:
    """Stacked bars: of the scans the model flags among 1,000, how many truly bleed."""
    out = {}
    for x, (name, p) in enumerate(prevalences.items()):
        true_alarms = 1000 * p * sensitivity
        false_alarms = 1000 * (1 - p) * (1 - specificity)
        missed = 1000 * p * (1 - sensitivity)
        out[name] = {"true_alarms": true_alarms, "false_alarms": false_alarms, "missed": missed}
        ax.bar(x, true_alarms, color=BLUE, width=0.6, label="flagged, bleed" if x == 0 else None)
        ax.bar(x, false_alarms, bottom=true_alarms, color=ORANGE, width=0.6, hatch="//",
               label="flagged, no bleed" if x == 0 else None)
        flagged = true_alarms + false_alarms
        ax.text(x, flagged, f"{true_alarms:.0f} of {flagged:.0f}\nflags are real\n"
                f"({missed:.0f} bleeds missed)", ha="center", va="bottom", fontsize=18)
    ax.set_xticks(range(len(prevalences)), [wrap(n, 12) for n in prevalences])
    ax.set_ylabel("Scans flagged, per 1,000 head CTs")
    top = max(v["true_alarms"] + v["false_alarms"] for v in out.values())
    ax.set_ylim(0, top * 1.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    ax.set_title("1,000 head CTs through the model")
    return out


def result_prevalence_figure(result, positive=None, threshold: float = 0.5,
                             ed_prevalence: float = evaluation.ED_PREVALENCE):
    """:func:`prevalence_figure` with a two-class result's sensitivity, specificity and test
    prevalence."""
    m = evaluation.result_metrics(result, positive, threshold)
    return prevalence_figure(m.sensitivity.estimate, m.specificity.estimate, m.prevalence,
                             ed_prevalence)


@styled
def misclassified_figure(result, n: int = 8, columns: int = 4):
    """The test slices the model got wrong, most confident mistakes first, with probabilities.

    ``fig.data["cases"]`` lists, per slice shown: ``id``, ``true``, ``predicted`` and
    ``probabilities`` (class name to probability).
    """
    labels, probabilities, classes = evaluation.result_arrays(result)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")][:n]
    if len(wrong) == 0:
        fig, axes = new_figure(size=(12, 4))
        axes[0, 0].axis("off")
        axes[0, 0].text(0.5, 0.5, "No misclassified test slices", ha="center", va="center",
                        fontsize=28)
        fig.data = {"cases": []}
        return fig
    rows = int(np.ceil(len(wrong) / columns))
    fig, axes = new_figure(rows, columns, size=(4.6 * columns, 5.6 * rows))
    cases = []
    for ax, j in zip(axes.flat, wrong):
        item = int(result.test_index[j])
        ax.imshow(result.dataset.image(item))
        probs = dict(zip(classes, probabilities[j].round(3).tolist()))
        cases.append({"id": result.dataset.items[item].id, "true": classes[labels[j]],
                      "predicted": classes[predicted[j]], "probabilities": probs})
        ax.set_title(f"true: {classes[labels[j]]}\nmodel: {classes[predicted[j]]} "
                     f"{percent(probabilities[j, predicted[j]])}", fontsize=18, color=VERMILLION)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(f"Misclassified test slices ({len(wrong)} shown of "
                 f"{int(np.sum(predicted != labels))})")
    fig.data = {"cases": cases}
    return fig


# ---- saliency ----------------------------------------------------------------------------------


def find_layer(model, name: str):
    """``(container, layer)``: the model, or nested model, that holds the layer called ``name``."""
    import keras

    for layer in model.layers:
        if layer.name == name:
            return model, layer
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found = find_layer(layer, name)
            if found is not None:
                return found
    return None


def feature_and_output(model, layer_name: str):
    """A function ``x -> (activations of layer_name, model output)``, differentiable end to end.

    Works for a flat functional model and for a chain whose first stage (e.g. the backbone)
    is a nested model holding the layer.
    """
    import keras

    found = find_layer(model, layer_name)
    if found is None:
        raise ValueError(f"The model has no layer named '{layer_name}'. Grad-CAM needs "
                         f"MobileNetV2's last convolution block ('{GRADCAM_LAYER}').")
    container, layer = found
    inner = keras.Model(container.inputs, [layer.output, container.outputs[0]])
    if container is model:
        return inner
    stages = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    after = stages[stages.index(container) + 1:] if container in stages else None
    if after is None:
        raise ValueError(f"Grad-CAM expects the layer '{layer_name}' in the model's first stage.")

    def run(x):
        features, out = inner(x)
        for stage in after:
            out = stage(out)
        return features, out

    return run


def scale_for_model(images) -> np.ndarray:
    """uint8 RGB images, one ``(224, 224, 3)`` or a batch, to the model's ``x / 127 - 1`` floats."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(f"Expected (224, 224, 3) RGB images, got shape {images.shape[1:]}. "
                         f"Use the data set's image(i), which gives model-ready images.")
    return scale(images)


def gradcam(model, image, class_index: int | None = None, layer: str = GRADCAM_LAYER):
    """Grad-CAM: where in ``image`` the evidence for ``class_index`` lies, as a (224, 224) map.

    Gradients of the class probability with respect to the last convolution's activations give
    one weight per channel; the weighted sum of channels, kept where positive, is upsampled to
    the image and scaled to [0, 1] (all zeros when nothing speaks for the class).
    ``class_index`` None explains the predicted class. ``image`` is uint8 RGB (224, 224, 3).
    """
    import tensorflow as tf

    x = tf.constant(scale_for_model(image))
    forward = feature_and_output(model, layer)
    with tf.GradientTape() as tape:
        features, probabilities = forward(x)
        k = int(np.argmax(probabilities[0])) if class_index is None else int(class_index)
        score = probabilities[:, k]
    grads = tape.gradient(score, features)[0].numpy()
    features = features[0].numpy()
    cam = np.maximum(np.tensordot(features, grads.mean(axis=(0, 1)), axes=([2], [0])), 0)
    cam = tf.image.resize(cam[..., None], (224, 224), method="bilinear").numpy()[..., 0]
    top = cam.max()
    return (cam / top if top > 0 else np.zeros_like(cam)).astype(np.float32)


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
        raise ValueError(f"indices {outside} are not positions in the test set, which has "
                         f"{len(labels)} slices: use 0 to {len(labels) - 1}.")
    if class_index is not None and not 0 <= class_index < len(classes):
        raise ValueError(f"class_index {class_index} is not a class: use 0 to {len(classes) - 1} "
                         f"for {list(classes)}, or None to explain each predicted class.")
    model = result.keras_model()
    fig, axes = new_figure(2, len(indices), size=(4.8 * len(indices), 10.5))
    maps, cases = [], []
    for column, j in enumerate(indices):
        item = int(result.test_index[j])
        image = result.dataset.image(item)
        k = int(probabilities[j].argmax()) if class_index is None else int(class_index)
        cam = gradcam(model, image, k)
        maps.append(cam)
        cases.append({"id": result.dataset.items[item].id, "true": classes[labels[j]],
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


# ---- embedding map ---------------------------------------------------------------------------


def embedding_coordinates(embeddings, method: str = "pca", random_state: int = 0) -> np.ndarray:
    """2-D coordinates of the embeddings: PCA, or t-SNE (seeded, perplexity fitted to n)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or len(embeddings) < 3:
        raise ValueError(f"Need at least 3 embeddings as an (n, features) array, got shape "
                         f"{embeddings.shape}.")
    if method == "pca":
        return PCA(n_components=2, random_state=random_state).fit_transform(embeddings)
    if method == "tsne":
        perplexity = min(30.0, (len(embeddings) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca",
                    random_state=random_state).fit_transform(embeddings)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")


@styled
def embedding_figure(embeddings, labels, classes, method: str = "pca", random_state: int = 0):
    """Each image as a dot placed by its backbone embedding (PCA or t-SNE), coloured by class.

    Classes that form separate clouds are easy for the small head to tell apart.
    ``fig.data`` holds ``coordinates`` (n, 2) and ``labels``.
    """
    labels = np.asarray(labels, dtype=int)
    coordinates = embedding_coordinates(embeddings, method, random_state)
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


def backbone_embeddings(model, images, batch_size: int = 64) -> np.ndarray:
    """The backbone's (n, 1280) embeddings of uint8 images, taken from the whole model."""
    import keras

    found = find_layer(model, "embedding")
    if found is None:
        raise ValueError("The model has no layer named 'embedding' (the backbone's pooling "
                         "layer, as weights.build_backbone names it).")
    container, layer = found
    features = keras.Model(container.inputs, layer.output)
    images = np.asarray(images)
    return np.concatenate([
        features.predict(scale_for_model(images[i:i + batch_size]), verbose=0)
        for i in range(0, len(images), batch_size)
    ])


def embedding_map(result, method: str = "pca", random_state: int = 0):
    """:func:`embedding_figure` of a result's test images, embedded by its own backbone."""
    labels, _, classes = evaluation.result_arrays(result)
    images = np.stack([result.dataset.image(int(i)) for i in result.test_index])
    embeddings = backbone_embeddings(result.keras_model(), images)
    return embedding_figure(embeddings, labels, classes, method, random_state)
