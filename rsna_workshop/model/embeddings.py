"""Backbone embeddings, computed once per image and kept on disk.

Teachable Machine's backbone is frozen: an image's 1280-value embedding never changes, so it is
computed once (MobileNetV2 width 0.35, 224 x 224, cut at ``out_relu``, global average pooling)
and cached under ``config.cache_dir()``, keyed by the image file's content, its preprocessing and
the backbone weights file. Training again with other epochs, rate or seed never runs the backbone.

>>> features = embed(dataset)      # doctest: +SKIP
>>> features.shape                 # doctest: +SKIP
(60, 1280)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import numpy as np

from .. import config
from ..datasets import ImageReader
from ..errors import SettingsError
from .backbone import EMBEDDING_SIZE, backbone_id, shared_backbone


def scale(images: np.ndarray) -> np.ndarray:
    """Teachable Machine's pixel scaling, ``x / 127 - 1``, as float32 (0 -> -1, 254 -> 1).

    >>> scale(np.array([0, 127, 254], np.uint8))
    array([-1.,  0.,  1.], dtype=float32)
    """
    return np.asarray(images, dtype=np.float32) / np.float32(127) - np.float32(1)


def run_backbone(images: np.ndarray) -> np.ndarray:
    """Embeddings (N, 1280) of model-ready uint8 images (N, 224, 224, 3)."""
    return np.asarray(shared_backbone().predict_on_batch(scale(images)), dtype=np.float32)


def embed(dataset, *, cache: bool = True, batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """The 1280-value backbone embedding of every image of ``dataset``, as (N, 1280) float32.

    Embeddings are cached on disk under ``config.cache_dir()``, keyed by each image file's content,
    the data set's preprocessing and the backbone weights, so an image is run through the backbone
    once, whatever data set it later appears in. ``cache=False`` computes everything and stores
    nothing. Images are decoded in threads while the backbone runs.
    """
    n = len(dataset.items)
    if not cache:
        return _compute_embeddings(dataset, range(n), batch_size, progress)
    folder = config.cache_dir()
    digests = FileDigests(folder)
    with ImageReader(dataset) as reader:
        keys = [f"{digests.digest(item, reader)}-{dataset.preprocess.key}" for item in dataset.items]
    digests.save()
    out = np.empty((n, EMBEDDING_SIZE), dtype=np.float32)
    store = EmbeddingStore(folder / "embeddings" / backbone_id())
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
    shared_backbone()  # build it (seconds) before the progress bar starts counting images
    out = np.empty((len(indices), EMBEDDING_SIZE), dtype=np.float32)
    with tqdm(total=len(indices), unit="image", desc="Embedding", disable=not progress) as bar, \
            ImageReader(dataset) as reader:
        start = 0
        for images in _decoded_batches(reader, indices, batch_size):
            out[start : start + len(images)] = run_backbone(images)
            start += len(images)
            bar.update(len(images))
    return out


def _decoded_batches(reader: ImageReader, indices: list[int], batch_size: int):
    """Yield (B, 224, 224, 3) batches while threads decode the next two batches."""
    workers = min(8, (os.cpu_count() or 2) + 2)
    pending: deque = deque()
    todo = iter(indices)
    with ThreadPoolExecutor(workers) as pool:
        pending.extend(pool.submit(reader.image, i) for i in islice(todo, 3 * batch_size))
        while pending:
            batch = [pending.popleft().result() for _ in range(min(batch_size, len(pending)))]
            pending.extend(pool.submit(reader.image, i) for i in islice(todo, len(batch)))
            yield np.stack(batch)


class FileDigests:
    """SHA-1 of image files, remembered in ``folder/file_digests.json`` by (path, member, size,
    modification time), so a warm run hashes nothing: hashing 2,000 CT slices (1 GB) takes about 2 s.
    """

    FILE = "file_digests.json"

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.memo = self._load()
        self.unsaved = 0

    def digest(self, item, reader: ImageReader) -> str:
        """The SHA-1 of ``item``'s bytes (read with ``reader`` unless remembered)."""
        stat = item.source.stat()
        fields = (os.path.abspath(item.source), item.member or "", stat.st_size, stat.st_mtime_ns)
        key = "\0".join(map(str, fields))  # NUL: the one character no path holds
        digest = self.memo.get(key)
        if digest is None:
            digest = self.memo[key] = hashlib.sha1(reader.read_bytes(item)).hexdigest()
            self.unsaved += 1
        return digest

    def _load(self) -> dict[str, str]:
        try:
            memo = json.loads((self.folder / self.FILE).read_text())
        except (OSError, ValueError):
            return {}
        return memo if isinstance(memo, dict) else {}

    def save(self) -> None:
        """Write the memo, less files that are gone (atomically; a failure only costs re-hashing)."""
        if not self.unsaved:
            return
        partial = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=self.folder, suffix=".part")
            live = {key: value for key, value in self.memo.items() if os.path.exists(key.split("\0")[0])}
            with os.fdopen(handle, "w") as out:
                json.dump(live, out)
            os.replace(partial, self.folder / self.FILE)
            self.unsaved = 0
        except OSError:
            if partial and os.path.exists(partial):
                os.remove(partial)


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


def project_2d(embeddings, method: str = "pca", random_state: int = 0) -> np.ndarray:
    """2-D coordinates of embeddings for a map: PCA, or t-SNE (seeded, perplexity fitted to n)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or len(embeddings) < 3:
        raise SettingsError(f"Need at least 3 embeddings as an (n, features) array, got shape "
                            f"{embeddings.shape}.")
    if method == "pca":
        return PCA(n_components=2, random_state=random_state).fit_transform(embeddings)
    if method == "tsne":
        perplexity = min(30.0, (len(embeddings) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca",
                    random_state=random_state).fit_transform(embeddings)
    raise SettingsError(f"method must be 'pca' or 'tsne', got {method!r}.")
