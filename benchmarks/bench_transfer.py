"""Transfer check: train on the synthetic cohort, score the 16 real RSNA slices of ../shared/real-reference.

    .venv/bin/python benchmarks/bench_transfer.py [--seeds 5] [--reference DIR]

Recipe 3 (brain window, gray) and recipe 5 (colour-coded) are trained on the planned cohort as
``benchmarks/tune_difficulty.py`` trains them (same sampling, Teachable Machine's split, the
original workshop's settings, the package's own head on cached backbone embeddings), then put on
the 16 real slices (8 with hemorrhage, 8 without), which no model saw and the generator was not
tuned to. The real slices are 8-bit PNGs without Hounsfield units, saved in a window nobody
recorded. The script first reads that window off the pictures with textbook densities: of the
standard brain (40/80) and subdural (80/200) windows, the one in which their brain parenchyma
reads as parenchyma does (25-40 HU) and their densest soft tissue inside the skull as acute clot
(50-90 HU). Then:

- gray, as uploaded: the picture goes through ``load_image``, as any uploaded picture does (RGB,
  centre crop, resize to 224), whatever its window;
- gray, re-windowed: the picture's grey levels are turned back into HU through the window it was
  saved in and shown in the recipe's brain window, as the model saw its training slices;
- colour-coded: the same HU, pixels saturated white (bone, calcification) kept out of the blood
  range, through the recipe's preprocessing (50-90 HU painted red);
- colour-coded inside the skull: recipe ``experiment5-masked``, which paints only pixels more than
  a pixel clear of bone, trained and scored on its own pictures (the rim under the skull stays gray);
- colour-coded, the original's look: recipe ``experiment5-translucent``, red at half opacity over
  the gray instead of solid red, trained and scored on its own pictures;
- gray as uploaded, trained in the pictures' window: recipe 3 trained on phantom slices shown in
  the window the real pictures were saved in instead of the brain window, so that both look alike.

Prints the densities each window implies, the fine grain of the real and the phantom's pictures
in the pictures' window and their density just inside the inner table, then per route and seed
the accuracy, missed bleeds and false alarms, and the mean per route (target: >= 0.70). Skips,
saying so, when the reference folder is absent.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_difficulty import VIEWS, embed_plan, trainer, view_of  # noqa: E402

from rsna_workshop.imaging import BLOOD_HU, WINDOWS, Preprocess, load_image, window  # noqa: E402
from rsna_workshop.model.embeddings import run_backbone  # noqa: E402
from rsna_workshop.synthetic.plan import draw, plan_cohort  # noqa: E402
from rsna_workshop.workshop.recipes import RECIPES  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "real-reference"
ROUTES = {"gray, as uploaded": "experiment3", "gray, re-windowed": "experiment3",
          "colour-coded": "experiment5", "colour-coded inside the skull": "experiment5-masked",
          "colour-coded, the original's look": "experiment5-translucent"}
"""The recipe each route trains; all but the first show the picture's HU through its preprocessing."""
TARGET = 0.70
CANDIDATE_WINDOWS = ("brain", "subdural")
PARENCHYMA_HU, CLOT_HU = (25.0, 40.0), (50.0, 90.0)  # unenhanced brain; acute clot


def picture_levels(path: Path) -> np.ndarray:
    """The grey levels (0-255) of a picture file."""
    return np.asarray(Image.open(path).convert("L"), dtype=np.float32)


def skull_ring(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The saturated bone of a picture (grey levels) and the pixels its closed ring holds (None if
    the ring is open)."""
    bone = gray >= 250
    interior = ndimage.binary_fill_holes(ndimage.binary_closing(bone, iterations=3)) & ~bone
    return (bone, interior) if interior.sum() > 5000 else None


def inside_skull(gray: np.ndarray) -> np.ndarray | None:
    """Pixels inside a closed ring of saturated bone, 4 pixels clear of it (None if the ring is open)."""
    ring = skull_ring(gray)
    return None if ring is None else ring[1] & ~ndimage.binary_dilation(ring[0], iterations=4)


def tissue_levels(paths) -> tuple[float, float]:
    """Median over the pictures of the grey level of brain parenchyma (the most common level
    inside the skull) and of the densest soft tissue there (its 99th percentile), pictures with a
    closed skull only."""
    parenchyma, densest = [], []
    for path in paths:
        gray = picture_levels(path)
        inside = inside_skull(gray)
        if inside is not None:
            counts = np.convolve(np.bincount(gray[inside].astype(int), minlength=256), np.ones(5) / 5, "same")
            parenchyma.append(float(np.argmax(counts[1:250]) + 1))
            densest.append(float(np.percentile(gray[inside], 99)))
    return float(np.median(parenchyma)), float(np.median(densest))


def as_hu(gray_level, saved: str):
    """HU of grey levels (a number or an array) of a picture saved in window ``saved``."""
    center, width = WINDOWS[saved]
    return center - width / 2 + gray_level * width / 255


def saved_window(folder: Path) -> str:
    """The candidate window in which the pictures' tissues read as textbook densities; prints what
    each candidate implies."""
    parenchyma, _ = tissue_levels(sorted(folder.glob("*/*.png")))
    _, clot = tissue_levels(sorted(folder.glob("hemorrhage/*.png")))
    fitting = []
    for name in CANDIDATE_WINDOWS:
        brain_hu, clot_hu = as_hu(parenchyma, name), as_hu(clot, name)
        fits = PARENCHYMA_HU[0] <= brain_hu <= PARENCHYMA_HU[1] and CLOT_HU[0] <= clot_hu <= CLOT_HU[1]
        print(f"saved in the {name} window {WINDOWS[name]}: parenchyma would read {brain_hu:.0f} HU "
              f"(textbook {PARENCHYMA_HU[0]:g}-{PARENCHYMA_HU[1]:g}), the densest soft tissue inside "
              f"the skull of the bleed slices {clot_hu:.0f} HU (acute clot {CLOT_HU[0]:g}-{CLOT_HU[1]:g}){'  <- fits' if fits else ''}")
        fitting += [name] * fits
    if len(fitting) != 1:
        raise SystemExit(f"cannot tell the pictures' window: {len(fitting)} candidates fit")
    return fitting[0]


def picture_hu(path: Path, saved: str) -> np.ndarray:
    """Approximate HU of a picture saved in window ``saved``; saturated white is put above the blood range."""
    gray = picture_levels(path)
    hu = as_hu(gray, saved).astype(np.float32)
    hu[gray >= 255] = 1000.0
    return hu


def grain(gray: np.ndarray) -> float:
    """SD of a picture (grey levels 0-255) minus its 5-pixel local mean, inside brain tissue
    (grey levels 40-120, away from edges; 11-74 HU in the subdural window): the noise and fine
    texture a reader sees."""
    gray = gray.astype(np.float32)
    brain = ndimage.binary_erosion((gray > 40) & (gray < 120), iterations=3)
    return float((gray - ndimage.uniform_filter(gray, 5))[brain].std())


def compare_grain(folder: Path, jobs, saved: str, n: int = 40):
    """Print the grain of the real pictures beside that of ``n`` phantom slices above the skull
    base shown in the same window."""
    real = [grain(picture_levels(p)) for p in sorted(folder.glob("*/*.png"))]
    above = [j for j in jobs if j.level >= 0.35]
    chosen = above[:: max(1, len(above) // n)][:n]
    ours = [grain(window(draw(j).hu, saved)) for j in chosen]
    print(f"fine grain in the {saved} window (grey levels; median, quartiles): "
          f"real {np.median(real):.1f} ({np.percentile(real, 25):.1f}-{np.percentile(real, 75):.1f}), "
          f"phantom {np.median(ours):.1f} ({np.percentile(ours, 25):.1f}-{np.percentile(ours, 75):.1f})")


RIM_BANDS_PX = ((1, 3), (3, 5), (5, 8), (8, 12), (30, 200))  # pixels inside the inner table


def rim_profile(gray: np.ndarray, saved: str) -> np.ndarray | None:
    """Per band of :data:`RIM_BANDS_PX` inside the inner table of a picture (grey levels, saved in
    window ``saved``): the median HU of its unsaturated pixels and their share in the paint range
    (rows); None where the skull ring is open."""
    ring = skull_ring(gray)
    if ring is None:
        return None
    depth = ndimage.distance_transform_edt(ring[1])
    hu = as_hu(gray, saved)
    rows = []
    for a, b in RIM_BANDS_PX:
        band = hu[(depth >= a) & (depth < b) & (gray > 0) & (gray < 250)]
        rows.append((np.median(band), np.mean((band >= BLOOD_HU[0]) & (band <= BLOOD_HU[1]))))
    return np.array(rows).T


def compare_rim(folder: Path, jobs, saved: str, n: int = 40):
    """Print the density just inside the inner table of the real normal slices beside that of
    ``n`` normal phantom slices above the skull base, both as pictures in the real ones' window."""
    real = [rim_profile(picture_levels(p), saved) for p in sorted(folder.glob("normal/*.png"))]
    above = [j for j in jobs if j.level >= 0.35 and not j.requested]
    ours = [rim_profile(window(draw(j).hu, saved), saved) for j in above[:: max(1, len(above) // n)][:n]]
    print("pixels inside the inner table: " + ", ".join(f"{a}-{b}" for a, b in RIM_BANDS_PX))
    for name, profiles in (("real normal", real), ("phantom normal", ours)):
        hu, painted = np.median([p for p in profiles if p is not None], axis=0)
        print(f"  {name} ({sum(p is not None for p in profiles)} slices): median HU "
              + ", ".join(f"{v:.0f}" for v in hu) + f"; share in {BLOOD_HU[0]:g}-{BLOOD_HU[1]:g} HU "
              + ", ".join(f"{v:.2f}" for v in painted))


def reference_inputs(folder: Path, saved: str) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """Model inputs of the reference slices per route, their labels (1 hemorrhage) and names."""
    paths = sorted(folder.glob("normal/*.png")) + sorted(folder.glob("hemorrhage/*.png"))
    labels = np.array([int(p.parent.name == "hemorrhage") for p in paths])
    routes = {"gray, as uploaded": np.stack([load_image(p) for p in paths])}
    for route, name in list(ROUTES.items())[1:]:
        routes[route] = np.stack([RECIPES[name].preprocess(picture_hu(p, saved)) for p in paths])
    return routes, labels, [p.name for p in paths]


def score(name: str, route: str, inputs: np.ndarray, labels, names, train, seeds: int):
    """Train recipe ``name`` per seed with ``train``, print its accuracy on the real slices."""
    scores = []
    for seed in range(seeds):
        result = train(name, seed, "teachable")
        positive = list(result.classes).index("hemorrhage")
        called = result.head.probabilities(inputs).argmax(1) == positive
        scores.append(float(np.mean(called == labels.astype(bool))))
        missed = [n for n, c, y in zip(names, called, labels) if y and not c]
        print(f"{name} ({route}) seed {seed}: accuracy {scores[-1]:.3f} on {len(labels)} real slices; "
              f"missed bleeds {missed}; {int(np.sum(called & (labels == 0)))} of "
              f"{int(np.sum(labels == 0))} normal slices called bleeds", flush=True)
    mean = float(np.mean(scores))
    print(f"{name} ({route}): mean {mean:.3f} over {seeds} seeds "
          f"({'meets' if mean >= TARGET else 'below'} the {TARGET:.2f} target)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not (args.reference / "hemorrhage").is_dir() or not (args.reference / "normal").is_dir():
        print(f"skipped: no real reference slices at {args.reference} (folders hemorrhage/ and normal/ "
              "of 8-bit PNGs); pass --reference DIR")
        return
    saved = saved_window(args.reference)
    jobs = sorted(plan_cohort(0), key=lambda job: job.id)
    compare_grain(args.reference, jobs, saved)
    compare_rim(args.reference, jobs, saved)
    routes, labels, names = reference_inputs(args.reference, saved)
    embedded = {route: run_backbone(images) for route, images in routes.items()}
    train = trainer(jobs, embed_plan(jobs, args.workers))
    for route, inputs in embedded.items():
        shown = RECIPES[ROUTES[route]].preprocess
        own = train if shown in VIEWS.values() else trainer(jobs, embed_plan(jobs, args.workers, {view_of(shown): shown}))
        score(ROUTES[route], route, inputs, labels, names, own, args.seeds)
    in_saved = embed_plan(jobs, args.workers, {"gray": Preprocess(window=saved)})
    score(ROUTES["gray, as uploaded"], f"gray as uploaded, trained in the {saved} window",
          embedded["gray, as uploaded"], labels, names, trainer(jobs, in_saved), args.seeds)


if __name__ == "__main__":
    main()
