"""Render docs/cohort_montage.png: synthetic slices per subtype and level, gray and colour-coded.

    .venv/bin/python docs/render_montage.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rsna_workshop.imaging import color_code, window  # noqa: E402
from rsna_workshop.synthetic import SUBTYPES, generate_slice  # noqa: E402
from rsna_workshop.synthetic.hemorrhage import LEVELS  # noqa: E402

OUT = Path(__file__).resolve().parent / "cohort_montage.png"
ROWS = ("normal",) + SUBTYPES


def levels_for(row: str) -> list[float]:
    """Three levels per row: skull base to vertex for normal slices, typical sites for bleeds."""
    if row == "normal":
        return [0.12, 0.5, 0.8]
    low, high = LEVELS[row]
    return [low + 0.1 * (high - low), (low + high) / 2, high - 0.1 * (high - low)]


def first_visible(row: str, level: float, start: int):
    """The first seed from ``start`` whose slice shows the row's subtype (any slice for normal)."""
    for seed in range(start, start + 50):
        s = generate_slice(seed, level=level, subtypes=() if row == "normal" else (row,))
        if row == "normal" or s.subtypes:
            return s
    raise RuntimeError(f"no visible {row} at level {level}")


def main():
    fig, axes = plt.subplots(len(ROWS), 6, figsize=(15, 15.6), facecolor="black")
    for r, row in enumerate(ROWS):
        for c, level in enumerate(levels_for(row)):
            s = first_visible(row, level, start=100 * r + 10 * c)
            crop = (slice(40, 472), slice(40, 472))
            axes[r, 2 * c].imshow(window(s.hu, "brain")[crop], cmap="gray", vmin=0, vmax=255)
            axes[r, 2 * c + 1].imshow(color_code(s.hu)[crop])
            axes[r, 2 * c].set_title(f"{row}, level {level:.2f}", color="white", fontsize=10)
            axes[r, 2 * c + 1].set_title("blood range 50-90 HU in red", color="white", fontsize=10)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("Built-in synthetic head CT (brain window 40/80), each beside its colour-coded version",
                 color="white", fontsize=14)
    fig.tight_layout()
    fig.savefig(OUT, dpi=80, facecolor="black")
    print(OUT)


if __name__ == "__main__":
    main()
