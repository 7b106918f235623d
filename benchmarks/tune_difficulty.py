"""Estimate the five lessons on generated slices, to tune the generator's difficulty.

A quick stand-in for ``rsna-workshop lessons`` while the generator changes: the frozen MobileNetV2
embedding (cached in a temporary folder per generator version and slice) and a NumPy copy of
Teachable Machine's head (Dense 100 relu, softmax, Adam lr 0.001, batch 16, 15 % of each class held
out as test), trained on slices drawn from the cohort plan without writing any files.

    .venv/bin/python benchmarks/tune_difficulty.py --normal 1000 --bleed 1000 --seeds 3
"""

from __future__ import annotations

import argparse
import multiprocessing
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: threads only add overhead
os.environ.setdefault("OMP_NUM_THREADS", "1")
import tempfile
import time
from pathlib import Path

import numpy as np

from rsna_workshop import imaging
from rsna_workshop.model import build_backbone
from rsna_workshop.synthetic import GENERATOR_VERSION, generate_slice
from rsna_workshop.synthetic.plan import plan_cohort

GRAY = imaging.Preprocess()
COLOR = imaging.Preprocess(color_code=True)
CACHE = Path(tempfile.gettempdir()) / "rsna_tune_cache" / f"v{GENERATOR_VERSION}"


def render(job):
    """The gray and colour-coded model images of one planned slice, and its visible subtypes."""
    s = generate_slice(job.seed, level=job.level, subtypes=job.requested, patient=job.patient,
                       bleed_level=job.bleed_level)
    return cache_name(job), GRAY(s.hu), COLOR(s.hu), s.subtypes


def cache_name(job) -> str:
    """A cache file stem unique to what the generator draws for ``job``."""
    import hashlib

    what = repr((job.seed, job.patient, job.level, job.requested, job.bleed_level))
    return hashlib.blake2b(what.encode(), digest_size=8).hexdigest()


def embeddings(jobs, backbone_box):
    """Embeddings (gray, colour) and subtypes of ``jobs``, from the cache when possible."""
    CACHE.mkdir(parents=True, exist_ok=True)
    missing = [j for j in jobs if not (CACHE / f"{cache_name(j)}.npz").exists()]
    if missing:
        if not backbone_box:
            backbone_box.append(build_backbone())
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            rendered = pool.map(render, missing, chunksize=8)
        net = backbone_box[0]
        for start in range(0, len(rendered), 256):
            part = rendered[start:start + 256]
            for which, index in (("gray", 1), ("color", 2)):
                x = np.stack([r[index] for r in part]).astype(np.float32) / 127.0 - 1.0
                feats = net.predict(x, batch_size=64, verbose=0)
                for r, f in zip(part, feats):
                    r_path = CACHE / f"{r[0]}.{which}.npy"
                    np.save(r_path, f.astype(np.float32))
            for r in part:
                np.savez(CACHE / f"{r[0]}.npz", subtypes=np.array("|".join(r[3])))
    gray = np.stack([np.load(CACHE / f"{cache_name(j)}.gray.npy") for j in jobs])
    color = np.stack([np.load(CACHE / f"{cache_name(j)}.color.npy") for j in jobs])
    subtypes = [str(np.load(CACHE / f"{cache_name(j)}.npz")["subtypes"]) for j in jobs]
    return gray, color, [tuple(s.split("|")) if s else () for s in subtypes]


def split(labels, seed):
    """Teachable Machine's split: 15 % of each class as test."""
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test += list(idx[: int(round(0.15 * len(idx)))])
    test = np.array(sorted(test))
    return np.setdiff1d(np.arange(len(labels)), test), test


def train(x, y, epochs, seed):
    """Teachable Machine's head in NumPy: Dense(100, relu), Dense(softmax), Adam 1e-3, batch 16.

    Returns per-epoch (train accuracy, test accuracy, test loss), the test labels and predictions.
    """
    tr, te = split(y, seed)
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    glorot = lambda n, m: rng.uniform(-1, 1, (n, m)).astype(np.float32) * np.sqrt(6 / (n + m))
    params = [glorot(x.shape[1], 100), np.zeros(100, np.float32), glorot(100, k), np.zeros(k, np.float32)]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    onehot = np.eye(k, dtype=np.float32)[y]

    def forward(xb):
        h = np.maximum(xb @ params[0] + params[1], 0)
        z = h @ params[2] + params[3]
        z = np.exp(z - z.max(1, keepdims=True))
        return h, z / z.sum(1, keepdims=True)

    step, curve = 0, []
    for _ in range(epochs):
        order = tr[rng.permutation(len(tr))]
        for start in range(0, len(order), 16):
            b = order[start:start + 16]
            h, p = forward(x[b])
            dz = (p - onehot[b]) / len(b)
            dh = (dz @ params[2].T) * (h > 0)
            grads = [x[b].T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
            step += 1
            for param, grad, m in zip(params, grads, moments):
                m[0] = 0.9 * m[0] + 0.1 * grad
                m[1] = 0.999 * m[1] + 0.001 * grad * grad
                lr = 1e-3 * np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
                param -= lr * m[0] / (np.sqrt(m[1]) + 1e-7)
        p_train, p_test = forward(x[tr])[1], forward(x[te])[1]
        loss = -np.mean(np.log(np.clip(p_test[np.arange(len(te)), y[te]], 1e-7, 1)))
        curve.append(((p_train.argmax(1) == y[tr]).mean(), (p_test.argmax(1) == y[te]).mean(), loss))
    return np.array(curve), y[te], p_test.argmax(1)


def pick(jobs, subtypes_of, want, n, rng):
    """``n`` jobs whose visible subtypes satisfy ``want``."""
    ok = [j for j in jobs if want(subtypes_of[j.id])]
    if len(ok) < n:
        raise SystemExit(f"only {len(ok)} slices for a class that needs {n}")
    return [ok[i] for i in rng.choice(len(ok), n, replace=False)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--normal", type=int, default=1000)
    parser.add_argument("--bleed", type=int, default=1000)
    parser.add_argument("--three", type=int, default=80)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", default="1,2,3,4,5")
    args = parser.parse_args()
    lessons = set(args.only.split(","))
    start = time.perf_counter()
    jobs = plan_cohort(0)
    box = []
    # First pass: embed a candidate pool (requested labels), then select by visible subtypes.
    rng = np.random.default_rng(0)
    normal_pool = [j for j in jobs if not j.requested]
    bleed_pool = [j for j in jobs if j.requested]
    pool = [normal_pool[i] for i in rng.choice(len(normal_pool), min(len(normal_pool), args.normal + 60), replace=False)]
    pool += [bleed_pool[i] for i in rng.choice(len(bleed_pool), min(len(bleed_pool), args.bleed + 120), replace=False)]
    if "5" in lessons:
        pool += [j for j in bleed_pool if j.requested in (("intraparenchymal",), ("subdural",))]
    pool = list({j.id: j for j in pool}.values())
    gray, color, subs = embeddings(pool, box)
    index = {j.id: i for i, j in enumerate(pool)}
    subtypes_of = {j.id: s for j, s in zip(pool, subs)}
    print(f"embedded {len(pool)} slices in {time.perf_counter() - start:.0f} s")

    def run(name, classes, epochs, feats="gray", seeds=args.seeds):
        accs, found, gaps, rises = [], [], [], []
        for seed in range(seeds):
            r = np.random.default_rng(100 + seed)
            chosen, y = [], []
            for c, (want, n) in enumerate(classes):
                picked = pick(pool, subtypes_of, want, n, r)
                chosen += picked
                y += [c] * n
            x = (gray if feats == "gray" else color)[[index[j.id] for j in chosen]]
            curve, yt, yp = train(x, np.array(y), epochs, seed)
            accs.append(curve[-1, 1])
            found.append(((yp == 1) & (yt == 1)).sum() / max(1, (yt == 1).sum()))
            gaps.append(curve[-1, 0] - curve[-1, 1])
            rises.append(curve[-1, 2] / curve[:, 2].min() - 1)
        print(f"{name:38s} acc {np.mean(accs):.3f} (sd {np.std(accs):.3f})  found {np.mean(found):.2f}  "
              f"train-test {np.mean(gaps):+.3f}  loss rise {np.mean(rises):+.0%}", flush=True)

    normal = (lambda s: not s, args.normal)
    bleed = (lambda s: bool(s), args.bleed)
    if "1" in lessons:
        run("1) 30+30, 15 ep (0.50-0.75)", [(normal[0], 30), (bleed[0], 30)], 15, seeds=10)
    if "2" in lessons:
        run("2) N+30, 50 ep (>=.95, found<=.2)", [normal, (bleed[0], 30)], 50)
    if "3" in lessons:
        run("3) N+N gray, 50 ep (0.65-0.85, >=.6)", [normal, bleed], 50)
    if "5" in lessons:
        run("5) N+N colour, 50 ep (gray+0.10)", [normal, bleed], 50, feats="color")
        three = [(normal[0], args.three), (lambda s: s == ("intraparenchymal",), args.three),
                 (lambda s: s == ("subdural",), args.three)]
        run("5) 3x80 gray, 50 ep (~0.53)", three, 50)
        run("5) 3x80 colour, 50 ep (gray+0.10)", three, 50, feats="color")
    if "4" in lessons:
        run("4) N+N gray, 75 ep (gap>=.08, rise>=10%)", [normal, bleed], 75)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
