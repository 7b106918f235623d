"""The workshop's figure style: colour-blind-safe colours, text readable from the back of a hall.

Colours are Okabe-Ito (safe for colour-blind viewers) and viridis. Every figure is made with
:func:`new_figure` and drawn inside :func:`styled`, so its fonts are projector-sized.
"""

from __future__ import annotations

import functools

import matplotlib
import matplotlib.pyplot as plt

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
