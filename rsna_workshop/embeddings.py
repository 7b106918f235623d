"""Backbone embeddings, computed once per image and kept on disk.

Teachable Machine's backbone is frozen: an image's 1280-value embedding never changes, so it is
computed once (MobileNetV2 width 0.35, 224 x 224, cut at ``out_relu``, global average pooling)
and cached under ``paths.cache_dir()``, keyed by the image's content, its preprocessing and the
backbone weights file. Training again with other epochs, rate or seed never runs the backbone.

>>> features = embed(dataset)      # doctest: +SKIP
>>> features.shape                 # doctest: +SKIP
(60, 1280)
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import islice
from pathlib import Path

import numpy as np

from . import paths, weights


def scale(images: np.ndarray) -> np.ndarray:
    """Teachable Machine's pixel scaling, ``x / 127 - 1``, as float32 (0 -> -1, 254 -> 1).

    >>> scale(np.array([0, 127, 254], np.uint8))
    array([-1.,  0.,  1.], dtype=float32)
    """
    return np.asarray(images, dtype=np.float32) / np.float32(127) - np.float32(1)


@lru_cache(maxsize=None)
def _backbone_for(weights_path: str | None):
    return weights.build_backbone(weights_path)


def backbone():
    """The frozen MobileNetV2 feature extractor, built once per process and weights file."""
    source = weights.resolve_weights()
    return _backbone_for(str(source.path) if source.path else None)


@lru_cache(maxsize=None)
def _file_digest(path: str, size: int, mtime: float) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]


def backbone_id() -> str:
    """Names the backbone and its weights file, so a different file never reuses embeddings."""
    source = weights.resolve_weights()
    if source.path is None:
        return "mobilenetv2-0.35-224-imagenet"
    stat = source.path.stat()
    return f"mobilenetv2-0.35-224-{_file_digest(str(source.path), stat.st_size, stat.st_mtime)}"


def run_backbone(images: np.ndarray) -> np.ndarray:
    """Embeddings (N, 1280) of model-ready uint8 images (N, 224, 224, 3)."""
    return np.asarray(backbone().predict_on_batch(scale(images)), dtype=np.float32)


def embed(dataset, *, cache: bool = True, batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """The 1280-value backbone embedding of every image of ``dataset``, as (N, 1280) float32.

    Embeddings are cached on disk under ``paths.cache_dir()``, keyed by each image's content and
    preprocessing (``dataset.content_key(i)``) and by the backbone weights, so an image is run
    through the backbone once, whatever data set it later appears in. ``cache=False`` computes
    everything and stores nothing. Images are decoded in threads while the backbone runs.
    """
    n = len(dataset.items)
    if not cache:
        return _compute_embeddings(dataset, range(n), batch_size, progress)
    out = np.empty((n, weights.EMBEDDING_SIZE), dtype=np.float32)
    keys = [dataset.content_key(i) for i in range(n)]
    store = EmbeddingStore(paths.cache_dir() / "embeddings" / backbone_id())
    found = store.read(keys, out)
    missing = [i for i in range(n) if not found[i]]
    if missing:
        computed = _compute_embeddings(dataset, missing, batch_size, progress)
        out[missing] = computed
        store.write([keys[i] for i in missing], computed)
    return out


def _compute_embeddings(dataset, indices, batch_size: int, progress: bool) -> np.ndarray:
    from tqdm.auto import tqdm

    indices = list(indices)
    backbone()  # build it (seconds) before the progress bar starts counting images
    out = np.empty((len(indices), weights.EMBEDDING_SIZE), dtype=np.float32)
    with tqdm(total=len(indices), unit="image", desc="Embedding", disable=not progress) as bar:
        start = 0
        for images in _decoded_batches(dataset, indices, batch_size):
            out[start : start + len(images)] = run_backbone(images)
            start += len(images)
            bar.update(len(images))
    return out


def _decoded_batches(dataset, indices: list[int], batch_size: int):
    """Yield (B, 224, 224, 3) batches while threads decode the next two batches."""
    workers = min(8, (os.cpu_count() or 2) + 2)
    pending: deque = deque()
    todo = iter(indices)
    with ThreadPoolExecutor(workers) as pool:
        pending.extend(pool.submit(dataset.image, i) for i in islice(todo, 3 * batch_size))
        while pending:
            batch = [pending.popleft().result() for _ in range(min(batch_size, len(pending)))]
            pending.extend(pool.submit(dataset.image, i) for i in islice(todo, len(batch)))
            yield np.stack(batch)


class EmbeddingStore:
    """Embeddings on disk: a folder of shards, each an ``.npz`` of ``keys`` and ``embeddings``.

    One shard per call that computed new embeddings (not one file per image), so reading a few
    thousand embeddings opens a handful of files. Shards are written to a temporary name and
    renamed, so a reader never sees half a shard and parallel writers do not collide.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def read(self, keys: list[str], out: np.ndarray) -> np.ndarray:
        """Fill ``out[i]`` for each cached ``keys[i]``; return the boolean mask of those found."""
        wanted: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            wanted.setdefault(key, []).append(i)
        found = np.zeros(len(keys), dtype=bool)
        for shard in sorted(self.folder.glob("*.npz")) if self.folder.is_dir() else []:
            if not wanted:
                break
            try:
                with np.load(shard) as data:
                    rows = [(r, wanted.pop(k)) for r, k in enumerate(data["keys"]) if k in wanted]
                    if rows:
                        embeddings = data["embeddings"]
            except (OSError, ValueError, KeyError):  # a damaged shard is recomputed, not fatal
                continue
            for row, targets in rows:
                out[targets] = embeddings[row]
                found[targets] = True
        return found

    def write(self, keys: list[str], embeddings: np.ndarray) -> Path:
        """Store one shard; its name is a digest of its keys."""
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:16]
        target = self.folder / f"{digest}.npz"
        temporary = self.folder / f".{digest}.{os.getpid()}.tmp.npz"
        np.savez(temporary, keys=np.array(keys), embeddings=embeddings.astype(np.float32))
        os.replace(temporary, target)
        return target
