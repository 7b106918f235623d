"""Teachable Machine's "under the hood" panel and beyond, as projector-friendly matplotlib figures.

Every ``*_figure`` function (and :func:`under_the_hood`) returns a ``matplotlib.figure.Figure``
whose ``data`` attribute holds the numbers it shows, so tests and notebook text can quote them.
Figures are closed in pyplot at once: a notebook shows one when it is the cell's last value or is
passed to ``display``, never twice. The ``draw_*`` functions draw one panel on an ``Axes`` from
plain arrays; the figure functions take a training result, or any object with its attributes
(``classes``, ``positive``, ``history``, ``test_labels``, ``test_probabilities``). Figures that
show images are in :mod:`rsna_workshop.show.pictures`.
"""

from __future__ import annotations

import matplotlib
import numpy as np

from .. import evaluation
from .style import BLUE, GREEN, ORANGE, VERMILLION, new_figure, styled, wrap

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
    """One metric per epoch, train (solid blue) and test (dashed vermillion), on whole epochs.

    Short runs get a dot per epoch, so even the first epoch of a live run shows.
    """
    train, test = np.asarray(history[metric]), np.asarray(history[f"test_{metric}"])
    epochs = np.arange(1, len(train) + 1)
    marker = "o" if len(train) <= 30 else None
    ax.plot(epochs, train, color=BLUE, marker=marker, label="train")
    ax.plot(epochs, test, color=VERMILLION, linestyle="--", marker=marker, label="test")
    ax.set_xlabel("Epoch")
    ax.set_ylabel(metric.capitalize())
    ax.set_title(f"{metric.capitalize()} per epoch")
    if metric == "accuracy":
        ax.set_ylim(0, 1.02)
    ax.set_xlim(0.5, max(2, len(train)) + 0.5)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
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
    low, high = roc.auc_interval()
    ax.plot(roc.fpr, roc.tpr, color=BLUE, label=f"model (AUC {roc.auc:.2f}, 95% CI {low:.2f} to {high:.2f})")
    if operating_point is not None:
        at = "" if threshold is None else f": threshold {threshold:g}"
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


# ---- figures for a training result -------------------------------------------------------------


@styled
def under_the_hood(result):
    """Teachable Machine's "under the hood" panel in one figure.

    Accuracy per class (with the number of test samples), the confusion matrix (true rows,
    predicted columns), accuracy per epoch and loss per epoch, train and test.
    ``fig.data`` holds ``classes``, ``confusion_matrix``, ``per_class_accuracy``, ``n_test``
    and ``history``.
    """
    classes = tuple(result.classes)
    matrix = evaluation.result_confusion(result)
    fig, axes = new_figure(2, 2, size=(16, 11))
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
    name = result.classes[evaluation.result_positive(result, positive)]
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
    k = evaluation.result_positive(result, positive)
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
    fig, axes = new_figure(1, 2, size=(16, 7.6))
    draw_confusion(axes[0, 0], metrics.confusion_matrix, [negative, classes[k]],
                   title=f"Called '{classes[k]}' when p >= {threshold:g}")
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

    Left: PPV and NPV against prevalence. Right: what happens to 1,000 slices at each
    prevalence. ``fig.data`` holds ``ppv`` and ``per_1000`` for both prevalences.
    """
    prevalences = {"Workshop test set": workshop_prevalence, "Emergency department": ed_prevalence}
    fig, axes = new_figure(1, 2, size=(16, 8.5))
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
    ax.set_ylabel("Slices flagged, per 1,000 slices")
    top = max(v["true_alarms"] + v["false_alarms"] for v in out.values())
    ax.set_ylim(0, top * 1.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    ax.set_title("1,000 slices through the model")
    return out


def result_prevalence_figure(result, positive=None, threshold: float = 0.5,
                             ed_prevalence: float = evaluation.ED_PREVALENCE):
    """:func:`prevalence_figure` with a two-class result's sensitivity, specificity and test
    prevalence."""
    m = evaluation.result_metrics(result, positive, threshold)
    return prevalence_figure(m.sensitivity.estimate, m.specificity.estimate, m.prevalence,
                             ed_prevalence)
