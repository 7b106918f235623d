"""Render docs/cohort_montage.png: synthetic slices per subtype and level, gray and colour-coded.

    .venv/bin/python docs/render_montage.py

Each row is one subtype (or normal) at three levels from low to high in the range where that
subtype's bleeds sit; each slice is shown in the brain window beside its colour-coded version
(50-90 HU in red). The title gives the bleed's stage and density: blood below 50 HU is real in
the cohort (hyperacute, anaemic, subacute, chronic) and colour-coding misses it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rsna_workshop.imaging import color_code, window  # noqa: E402
from rsna_workshop.synthetic import SUBTYPES, generate_slice  # noqa: E402
from rsna_workshop.synthetic.hemorrhage import CENTRES  # noqa: E402

OUT = Path(__file__).resolve().parent / "cohort_montage.png"
ROWS = ("normal",) + SUBTYPES
CROP = (slice(32, 480), slice(32, 480))


def levels_for(row: str) -> list[float]:
    """Three levels per row: skull base to vertex for normal slices, typical sites for bleeds."""
    if row == "normal":
        return [0.1, 0.45, 0.8]
    low, high = CENTRES[row]
    return [low + 0.1 * (high - low), (low + high) / 2, high - 0.1 * (high - low)]


def first_visible(row: str, level: float, start: int):
    """The first seed from ``start`` whose slice shows the row's subtype (any slice for normal)."""
    for seed in range(start, start + 50):
        s = generate_slice(seed, level=level, subtypes=() if row == "normal" else (row,))
        if row == "normal" or s.subtypes:
            return s
    raise RuntimeError(f"no visible {row} at level {level}")


def title(row: str, s) -> str:
    if row == "normal":
        return f"normal, level {s.level:.2f}, age {s.head.age:.0f}"
    bleed = s.bleeds[0]
    return f"{row}, level {s.level:.2f}\n{bleed.stage}, {bleed.density:.0f} HU"


def main():
    fig, axes = plt.subplots(len(ROWS), 6, figsize=(18, 19), facecolor="black")
    for r, row in enumerate(ROWS):
        for c, level in enumerate(levels_for(row)):
            s = first_visible(row, level, start=100 * r + 10 * c + 1)
            axes[r, 2 * c].imshow(window(s.hu, "brain")[CROP], cmap="gray", vmin=0, vmax=255)
            axes[r, 2 * c + 1].imshow(color_code(s.hu)[CROP])
            axes[r, 2 * c].set_title(title(row, s), color="white", fontsize=11)
            axes[r, 2 * c + 1].set_title("50-90 HU in red", color="white", fontsize=11)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("Built-in synthetic head CT (a teaching phantom, brain window 40/80), each beside its "
                 "colour-coded version", color="white", fontsize=15)
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    fig.savefig(OUT, dpi=72, facecolor="black")
    print(OUT)


if __name__ == "__main__":
    main()
