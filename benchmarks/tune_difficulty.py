"""The five lessons on the planned cohort without writing it: a fast stand-in for ``rsna-workshop lessons``.

Every slice of the plan is drawn in memory, turned into the recipes' gray and colour-coded model
inputs and embedded once by the frozen backbone (cached in a temporary folder per generator
source, plan and preprocessing). Each recipe then samples its slices exactly as ``open_data`` does (same class rules, same
seeded sampling over the slices in ID order), is split by Teachable Machine's rule or by patient,
and trains the package's own NumPy head with the recipe's settings. The table is the lessons
check's own (``rsna_workshop.workshop.lessons``). Use it to tune the generator; confirm with
``rsna-workshop lessons``.

    .venv/bin/python benchmarks/tune_difficulty.py --seeds 5 --split both [--opacity 0.5]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import multiprocessing
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import rsna_workshop.synthetic as synthetic  # noqa: E402
from rsna_workshop.datasets import rule_classes, sample_indices  # noqa: E402
from rsna_workshop.datasets.splits import patient_split, teachable_split  # noqa: E402
from rsna_workshop.model.embeddings import run_backbone  # noqa: E402
from rsna_workshop.model.head import Head  # noqa: E402
from rsna_workshop.model.training import _train_head  # noqa: E402
from rsna_workshop.synthetic.plan import draw, plan_cohort  # noqa: E402
from rsna_workshop.workshop.lessons import format_table, run_lessons  # noqa: E402
from rsna_workshop.workshop.recipes import COLOR, GRAY, RECIPES  # noqa: E402

VIEWS = {"gray": GRAY, "color": COLOR}


def source_digest() -> str:
    """A digest of the generator's source files: the cache is valid while they are unchanged."""
    digest = hashlib.blake2b(digest_size=6)
    for path in sorted(Path(synthetic.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def render(job, views):
    """The model inputs of one planned slice, one per view, and the subtypes it shows."""
    s = draw(job)
    return [view(s.hu) for view in views.values()], s.subtypes


def embed_plan(jobs, workers: int, views=VIEWS) -> dict[str, np.ndarray]:
    """Embeddings (N, 1280) of every job, per view (name: preprocessing), cached per generator
    source, plan and views."""
    plan = hashlib.blake2b("".join(job.id for job in jobs).encode(), digest_size=4).hexdigest()
    shown_as = hashlib.blake2b(" ".join(f"{name}={view.key}" for name, view in views.items()).encode(), digest_size=3).hexdigest()
    name = f"{source_digest()}-{len(jobs)}-{plan}-{shown_as}.npz"
    cache = Path(tempfile.gettempdir()) / "rsna_tune" / name
    if cache.is_file():
        return dict(np.load(cache))
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        rendered = pool.map(functools.partial(render, views=views), jobs, chunksize=16)
    shown = [r[1] for r in rendered]
    mismatched = sum(s != j.requested for s, j in zip(shown, jobs))
    print(f"drew {len(jobs)} slices in {time.perf_counter() - started:.0f} s; {mismatched} differ from their plan")
    out = {}
    for k, name in enumerate(views):
        images = np.stack([r[0][k] for r in rendered])
        out[name] = np.concatenate([run_backbone(images[i:i + 128]) for i in range(0, len(images), 128)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    print(f"embedded in {time.perf_counter() - started:.0f} s")
    return out


def class_labels(jobs, classes) -> np.ndarray:
    """Each job's class index under the RSNA class rule (``normal``, ``hemorrhage`` or a subtype
    alone), or -1."""
    out = np.full(len(jobs), -1)
    for i, job in enumerate(jobs):
        for index, name in enumerate(classes):
            member = {"normal": not job.requested, "hemorrhage": bool(job.requested)}.get(
                name, job.requested == (name,))
            if member:
                out[i] = index
                break
    return out


def view_of(preprocess) -> str:
    """The name of the embeddings :func:`trainer` takes for a recipe with this preprocessing."""
    return "color" if preprocess.color_code else "gray"


def trainer(jobs, features):
    """A stand-in for ``train_recipe``: the recipe's images, split and settings, the package's head."""
    patients = np.array([job.patient_id for job in jobs])

    def train(name: str, seed: int, split: str):
        recipe = RECIPES[name]
        classes = rule_classes(recipe.rule)
        labels_all = class_labels(jobs, classes)
        keep = np.flatnonzero(labels_all >= 0)
        chosen = keep[sample_indices(labels_all[keep], classes, recipe.counts, seed)]
        labels = labels_all[chosen]
        if split == "teachable":
            train_index, test_index = teachable_split(labels, seed)
        else:
            train_index, test_index = patient_split(patients[chosen], seed)
        x = features[view_of(recipe.preprocess)][chosen]
        head, history, p = train_head(x, labels, len(classes), train_index, test_index, recipe.settings, seed)
        return SimpleNamespace(classes=classes, positive=recipe.positive, test_labels=labels[test_index],
                               test_probabilities=p, history=history, head=head)

    return train


def train_head(x, labels, n_classes, train_index, test_index, settings, seed):
    """The package's own head training (``model.training``) on these embeddings, as ``train`` runs
    it; returns the head, its history and its last test probabilities."""
    history, p, weights, _ = _train_head(
        x, labels, n_classes, train_index, test_index, None, epochs=settings.epochs,
        learning_rate=settings.learning_rate, batch_size=settings.batch_size, seed=seed,
        patience=None, on_epoch=None, progress=False)
    head = Head(x.shape[1], n_classes, seed=seed, learning_rate=settings.learning_rate)
    head.set_weights(weights)
    return head, history, p


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--split", choices=("teachable", "patient", "both"), default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--opacity", type=float, default=1.0,
                        help="of the colour-coded recipes' red: 0.5 is the original workshop's look")
    args = parser.parse_args()
    jobs = sorted(plan_cohort(0), key=lambda job: job.id)
    features = embed_plan(jobs, args.workers, {**VIEWS, "color": replace(COLOR, opacity=args.opacity)})
    for split in ("teachable", "patient") if args.split == "both" else (args.split,):
        started = time.perf_counter()
        rows = run_lessons(seeds=args.seeds, split=split, trainer=trainer(jobs, features))
        print(f"{split} split ({time.perf_counter() - started:.0f} s):\n{format_table(rows)}", flush=True)


if __name__ == "__main__":
    main()
