"""Gradient descent on a small 2-D loss landscape: what the learning rate and the start do.

A model's weights are a point on a landscape whose height is the loss; training walks downhill in
steps of size ``learning_rate x slope``. Here the weights are just two numbers (x, y), so the walk
can be drawn: too small a learning rate crawls, a good one reaches a valley, too large a one
overshoots and bounces, much too large climbs out and diverges. The landscape has a deep valley
and a shallow one, so where a run ends depends on where it starts and on the noise of its
mini-batches: two training runs differ, while re-testing one finished model never does.

>>> path = descend(learning_rate=0.3, start=(3.0, 3.2), steps=40)
>>> describe(path).outcome
'settled'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import SettingsError
from .style import BLUE, ORANGE, PURPLE, SKY, VERMILLION, YELLOW, new_figure, styled

# Two valleys dug into a tilted bowl: (centre x, centre y, depth, width).
VALLEYS = ((1.6, 0.4, 1.6, 0.75), (-1.3, -1.2, 0.9, 0.6))
BOWL = (0.15, 0.5)  # curvature of the bowl along x and y
FLOOR = 1.2  # lifts the landscape so the deep valley's bottom is just above zero, like a loss
LIMIT = 4.0  # the picture spans [-LIMIT, LIMIT]; a walk that leaves far beyond it has diverged
DEFAULT_START = (3.0, 3.2)


def loss(x, y):
    """Height of the landscape at (x, y), never negative; works on scalars and arrays."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    height = FLOOR + BOWL[0] * x**2 + BOWL[1] * y**2
    for cx, cy, depth, width in VALLEYS:
        height = height - depth * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
    return height


def gradient(x: float, y: float) -> np.ndarray:
    """The slope of the landscape at (x, y): the direction of steepest climb."""
    gx, gy = 2 * BOWL[0] * x, 2 * BOWL[1] * y
    for cx, cy, depth, width in VALLEYS:
        bump = depth * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2)) / width**2
        gx, gy = gx + bump * (x - cx), gy + bump * (y - cy)
    return np.array([gx, gy])


@lru_cache(maxsize=None)
def valley_bottoms() -> tuple[tuple[float, float], ...]:
    """The lowest point of each valley, deepest first (found by descending from its centre)."""
    bottoms = []
    for cx, cy, _, _ in VALLEYS:
        point = np.array([cx, cy])
        for _ in range(5000):
            point = point - 0.05 * gradient(*point)
        bottoms.append(tuple(float(v) for v in point))
    return tuple(sorted(bottoms, key=lambda p: float(loss(*p))))


def descend(
    learning_rate: float = 0.3,
    start: tuple[float, float] = DEFAULT_START,
    steps: int = 40,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Walk downhill: ``point -= learning_rate * slope``, ``steps`` times; returns every point.

    ``noise`` adds a random error to each slope, as a mini-batch's slope differs from the whole
    data set's; ``seed`` fixes that noise. The walk stops early once it has clearly diverged.
    Returns an array of shape (number of points, 2), the start included.
    """
    if learning_rate <= 0:
        raise SettingsError(f"learning_rate must be positive, got {learning_rate}.")
    if steps < 1:
        raise SettingsError(f"steps must be at least 1, got {steps}.")
    rng = np.random.default_rng(seed)
    path = [np.asarray(start, dtype=float)]
    for _ in range(steps):
        slope = gradient(*path[-1]) + noise * rng.standard_normal(2)
        path.append(path[-1] - learning_rate * slope)
        if not np.all(np.abs(path[-1]) < 25 * LIMIT):
            break
    return np.array(path)


@dataclass(frozen=True)
class Walk:
    """What a walk did: ``outcome`` is 'crawling', 'settled', 'bouncing' or 'diverged'."""

    outcome: str
    steps: int
    start_loss: float
    final_loss: float
    valley: str | None  # 'deep', 'shallow' or None when it ended in neither

    @property
    def sentence(self) -> str:
        """The walk in plain words."""
        where = f" in the {self.valley} valley" if self.valley else ""
        return {
            "crawling": f"still crawling downhill after {self.steps} steps: the steps are too small",
            "settled": f"settled{where} (loss {self.final_loss:.2f})",
            "bouncing": f"bouncing from wall to wall{where}: the steps overshoot the bottom",
            "diverged": "overshot so far that the loss grew: the walk diverged",
        }[self.outcome]


def _valley_of(point: np.ndarray) -> str | None:
    deep, shallow = valley_bottoms()
    for name, bottom in (("deep", deep), ("shallow", shallow)):
        if np.hypot(*(point - np.asarray(bottom))) < 0.6:
            return name
    return None


def describe(path: np.ndarray) -> Walk:
    """Classify a walk from :func:`descend` by how it ended.

    Diverged: it left the map or ended higher than it started. Settled: the last steps and the
    slope are tiny. Bouncing: among the last five steps, at least two reverse the previous one.
    Otherwise it is still crawling downhill.
    """
    losses = loss(path[:, 0], path[:, 1])
    end = path[-1]
    walk = dict(steps=len(path) - 1, start_loss=float(losses[0]), final_loss=float(losses[-1]))
    if not np.all(np.abs(end) <= 2 * LIMIT) or losses[-1] > losses[0]:
        return Walk("diverged", valley=None, **walk)
    valley = _valley_of(end)
    moves = np.diff(path[-6:], axis=0)
    if np.hypot(*gradient(*end)) < 0.05 and np.hypot(*moves[-3:].T).max() < 0.05:
        return Walk("settled", valley=valley, **walk)
    reversals = np.sum(np.sum(moves[1:] * moves[:-1], axis=1) < 0)
    if reversals >= 2:
        return Walk("bouncing", valley=valley, **walk)
    return Walk("crawling", valley=valley, **walk)


@lru_cache(maxsize=1)
def _loss_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y and loss on the 200 x 200 grid every map draws (computed once)."""
    grid = np.linspace(-LIMIT, LIMIT, 200)
    xx, yy = np.meshgrid(grid, grid)
    return xx, yy, loss(xx, yy)


@styled
def _draw_map(ax, title: str) -> None:
    xx, yy, heights = _loss_grid()
    filled = ax.contourf(xx, yy, heights, levels=25, cmap="viridis")
    ax.contour(xx, yy, heights, levels=25, colors="white", linewidths=0.4, alpha=0.5)
    ax.figure.colorbar(filled, ax=ax, label="loss (height)")
    ax.set(xlim=(-LIMIT, LIMIT), ylim=(-LIMIT, LIMIT), xlabel="weight 1", ylabel="weight 2")
    ax.set_aspect("equal")
    ax.set_title(title)


def _draw_path(ax, path: np.ndarray, color: str, label: str | None = None) -> None:
    ax.plot(path[:, 0], path[:, 1], "-o", color=color, markersize=5, linewidth=2, label=label)
    ax.plot(*path[0], marker="s", color=color, markersize=12, markeredgecolor="black")
    ax.plot(*path[-1], marker="*", color=color, markersize=20, markeredgecolor="black")


@styled
def landscape_figure(
    learning_rate: float = 0.3, start: tuple[float, float] = DEFAULT_START, steps: int = 40
):
    """The landscape with one walk drawn on it (square: start, star: end) and its loss per step.

    >>> fig = landscape_figure(learning_rate=0.01)   # too small: it crawls
    """
    path = descend(learning_rate, start, steps)
    walk = describe(path)
    fig, axes = new_figure(1, 2, size=(14, 6), width_ratios=(1.15, 1))
    left, right = axes[0]
    _draw_map(left, "The landscape, from above")
    _draw_path(left, np.clip(path, -LIMIT * 1.5, LIMIT * 1.5), ORANGE)
    right.plot(np.arange(len(path)), loss(path[:, 0], path[:, 1]), "-o", color=ORANGE, markersize=5)
    right.set(xlabel="step", ylabel="loss", title="Loss after each step")
    right.set_ylim(bottom=0)
    right.grid(alpha=0.3)
    fig.suptitle(f"Learning rate {learning_rate:.2g}: {walk.sentence}")
    return fig


@styled
def learning_rates_figure(
    rates: tuple[float, ...] = (0.01, 0.3, 1.0, 2.5),
    start: tuple[float, float] = DEFAULT_START,
    steps: int = 40,
):
    """One small map per learning rate, same start and number of steps: the four behaviours side by side."""
    fig, axes = new_figure(1, len(rates), size=(4 * len(rates), 5.2))
    xx, yy, heights = _loss_grid()
    for ax, rate in zip(axes[0], rates):
        path = descend(rate, start, steps)
        ax.contourf(xx, yy, heights, levels=25, cmap="viridis")
        _draw_path(ax, np.clip(path, -LIMIT * 1.5, LIMIT * 1.5), ORANGE)
        ax.set(xlim=(-LIMIT, LIMIT), ylim=(-LIMIT, LIMIT), xticks=[], yticks=[])
        ax.set_aspect("equal")
        ax.set_title(f"learning rate {rate:g}\n{describe(path).outcome}")
    fig.suptitle(f"Same start, {steps} steps each (square: start, star: where it ended)")
    return fig


@styled
def reruns_figure(
    runs: int = 4, learning_rate: float = 0.3, steps: int = 60, noise: float = 0.4, seed: int = 0
):
    """Several training runs: each starts somewhere random and gets noisy (mini-batch) slopes.

    Runs with different seeds end in different places with different losses; the same seed
    always draws the same picture.
    """
    rng = np.random.default_rng(seed)
    fig, axes = new_figure(size=(10, 8.5))
    ax = axes[0, 0]
    _draw_map(ax, f"{runs} training runs, same settings,\ndifferent random seeds")
    colors = (ORANGE, SKY, YELLOW, PURPLE, VERMILLION, BLUE)
    for run in range(runs):
        start = rng.uniform(-0.8 * LIMIT, 0.8 * LIMIT, size=2)
        path = descend(learning_rate, tuple(start), steps, noise=noise, seed=seed + run + 1)
        final = float(loss(*path[-1]))
        _draw_path(ax, path, colors[run % len(colors)], label=f"run {run + 1}: final loss {final:.2f}")
    ax.legend(loc="lower right", framealpha=0.9)
    return fig


def landscape_explorer():
    """Sliders for the learning rate, the start and the number of steps, redrawing the walk."""
    import ipywidgets as widgets
    from IPython.display import display

    wide = {"style": {"description_width": "initial"}, "layout": widgets.Layout(width="420px")}
    rate = widgets.FloatLogSlider(value=0.3, base=10, min=-3, max=1, step=0.1,
                                  description="learning rate", readout_format=".2g", **wide)
    x0 = widgets.FloatSlider(value=DEFAULT_START[0], min=-LIMIT, max=LIMIT, step=0.1,
                             description="start x", **wide)
    y0 = widgets.FloatSlider(value=DEFAULT_START[1], min=-LIMIT, max=LIMIT, step=0.1,
                             description="start y", **wide)
    steps = widgets.IntSlider(value=40, min=1, max=200, description="steps", **wide)

    def draw(learning_rate, x, y, n):
        display(landscape_figure(learning_rate, (x, y), n))

    output = widgets.interactive_output(draw, {"learning_rate": rate, "x": x0, "y": y0, "n": steps})
    return widgets.VBox([widgets.HBox([rate, steps]), widgets.HBox([x0, y0]), output])

