"""Render docs/windows_and_color_coding.png: one synthetic slice through every display option.

Top row: brain, subdural and bone windows. Bottom row: blood-range pixels painted red everywhere,
painted only inside the skull (each with an enlarged inset of the inner table, where the skull's
partial-volume rim is painted or not), and the multi-window RGB. The slice is the built-in generator's
(a subdural haematoma), so the figure shows exactly what the workshop's cohort looks like.

    python docs/render_windows.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rsna_workshop import imaging  # noqa: E402
from rsna_workshop.synthetic import generate_slice  # noqa: E402

OUT = Path(__file__).resolve().parent / "windows_and_color_coding.png"
SEED, LEVEL, SUBTYPES = 7, 0.6, ("subdural",)
ZOOM = 72  # pixels across the inset: the inner table at the top right and the brain under it


def panels(hu) -> list[tuple[str, object]]:
    """(title, image) for the six panels, in reading order."""
    low, high = imaging.BLOOD_HU
    return [window_panel(hu, name) for name in ("brain", "subdural", "bone")] + [
        (f"{low:g}-{high:g} HU painted red", imaging.color_code(hu)),
        ("... only inside the skull", imaging.color_code(hu, inside_skull=True)),
        ("Multi-window RGB\n(R brain, G subdural, B bone)", imaging.multi_window(hu)),
    ]


def window_panel(hu, name: str) -> tuple[str, object]:
    center, width = imaging.WINDOWS[name]
    return f"{name.capitalize()} window {center:g}/{width:g}", imaging.window(hu, name)


def render(out: Path = OUT) -> Path:
    """Draw the figure and save it to ``out``."""
    hu = generate_slice(SEED, level=LEVEL, subtypes=SUBTYPES).hu
    figure, axes = plt.subplots(2, 3, figsize=(15, 10.6), layout="constrained")
    for index, (ax, (title, image)) in enumerate(zip(axes.flat, panels(hu))):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="none")
        ax.set_title(title, fontsize=20)
        ax.set_axis_off()
        if index in (3, 4):  # the two colour-coded panels
            add_zoom(ax, image, zoom_box(hu))
    figure.suptitle("One head CT slice (synthetic subdural haematoma), six ways", fontsize=24)
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out


def zoom_box(hu) -> tuple[int, int, int, int]:
    """Rows and columns (top, bottom, left, right) of a ``ZOOM``-pixel box centred where a ray from
    the head's centre towards the top right first meets bone (the inner table)."""
    rows, cols = np.nonzero(hu > -200)
    centre = np.array([rows.mean(), cols.mean()])
    step = np.array([-1.0, 1.0]) / np.sqrt(2)
    r, c = (centre[:, None] + step[:, None] * np.arange(max(hu.shape))).astype(int)
    on_slice = (r >= 0) & (r < hu.shape[0]) & (c >= 0) & (c < hu.shape[1])
    r, c = r[on_slice], c[on_slice]
    bone = np.flatnonzero(hu[r, c] > 300)
    if not bone.size:
        raise ValueError("no bone on the ray from the head's centre: choose another SEED or LEVEL")
    r, c = r[bone[0]], c[bone[0]]
    half = ZOOM // 2
    return r - half, r + half, c - half, c + half


def add_zoom(ax, image, box) -> None:
    """An enlarged inset of ``box`` in the panel's top-left corner, joined to its source box."""
    top, bottom, left, right = box
    inset = ax.inset_axes([0.0, 0.58, 0.42, 0.42])
    inset.imshow(image, interpolation="none")
    inset.set_xlim(left, right)
    inset.set_ylim(bottom, top)
    inset.set_xticks([])
    inset.set_yticks([])
    for spine in inset.spines.values():
        spine.set_edgecolor("yellow")
        spine.set_linewidth(2)
    ax.indicate_inset_zoom(inset, edgecolor="yellow", linewidth=2, alpha=1)


if __name__ == "__main__":
    print(render())
