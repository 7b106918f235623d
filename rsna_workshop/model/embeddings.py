"""Backbone embeddings, computed once per image and kept on disk.

Teachable Machine's backbone is frozen: an image's 1280-value embedding never changes, so it is
computed once (MobileNetV2 width 0.35, 224 x 224, cut at ``out_relu``, global average pooling)
and cached on disk, keyed by the image file's content, its preprocessing and the backbone weights
file. Training again with other epochs, rate or seed never runs the backbone.

The cache is read from the user's writable cache (``config.cache_dir()``) and from a read-only
shared cache (``config.shared_cache_dir()``, e.g. one an instructor filled for a class); new
embeddings go to the writable one only. Every file is written whole or not at all, and a damaged
file costs one warning and a recomputation, never an error.

>>> features = embed(dataset)      # doctest: +SKIP
>>> features.shape                 # doctest: +SKIP
(60, 1280)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
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


def embed(dataset, *, cache: bool = True, batch_size: int = 16, progress: bool = False,
          cache_dir: str | Path | None = None) -> np.ndarray:
    """The 1280-value backbone embedding of every image of ``dataset``, as (N, 1280) float32.

    Embeddings are cached on disk, keyed by each image file's content, the data set's
    preprocessing and the backbone weights, so an image is run through the backbone once, whatever
    data set it later appears in. They are read from the writable cache (``config.cache_dir()``)
    and the read-only shared cache (``config.shared_cache_dir()``), and new ones are written to
    the writable cache only; ``cache_dir`` names another writable cache and leaves the shared one
    out (``rsna-workshop classroom prepare`` fills a shared cache this way). ``cache=False``
    computes everything and stores nothing. Images are decoded in threads while the backbone runs,
    ``batch_size`` at a time (16 holds the backbone's working memory near 150 MB at full speed).
    """
    n = len(dataset.items)
    if not cache:
        return _compute_embeddings(dataset, range(n), batch_size, progress)
    folder = Path(cache_dir) if cache_dir is not None else config.cache_dir()
    shared = [] if cache_dir is not None else [root for root in (config.shared_cache_dir(),) if root]
    digests = FileDigests(folder, shared)
    with ImageReader(dataset) as reader:
        keys = [f"{digests.digest(item, reader)}-{dataset.preprocess.key}" for item in dataset.items]
    digests.save()
    out = np.empty((n, EMBEDDING_SIZE), dtype=np.float32)
    store = EmbeddingStore(folder / "embeddings" / backbone_id(),
                           [root / "embeddings" / backbone_id() for root in shared])
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
    _log_backbone_run(dataset, len(indices))
    return out


def _log_backbone_run(dataset, n_images: int) -> None:
    """One line in ``$RSNA_WORKSHOP_BACKBONE_LOG`` (when set) per computation: who, how many, what."""
    log = config.backbone_log()
    if log is not None:
        with open(log, "a") as out:
            out.write(f"{os.getpid()}\t{n_images}\t{dataset.name}\t{dataset.preprocess.key}\n")


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


def _replace_atomically(folder: Path, name: str, write) -> Path:
    """Call ``write(file)`` on a temporary file in ``folder``, then rename it to ``name``.

    Readers see the old file or the whole new one, never half of it; two writers of one name
    each rename a complete file, so the last one wins and neither leaves a damaged file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, folder / name)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return folder / name


def _memo_key(folder: Path, path: str, member: str | None, stat: os.stat_result) -> str:
    """A memo key: the file relative to the memo folder's parent when it lies inside, else absolute."""
    relative = os.path.relpath(path, folder.parent)
    name = path if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative
    return "\0".join((name, member or "", str(stat.st_size), str(stat.st_mtime_ns)))  # NUL: in no path


def _memo_path(folder: Path, key: str) -> Path:
    """The file a memo key names."""
    return folder.parent / key.split("\0")[0]  # an absolute name stays absolute


def _load_memo(folder: Path) -> dict[str, str]:
    try:
        memo = json.loads((folder / FileDigests.FILE).read_text())
    except (OSError, ValueError):  # missing or damaged: it only costs hashing again
        return {}
    return memo if isinstance(memo, dict) else {}


class FileDigests:
    """SHA-1 of image files, remembered in ``file_digests.json`` by (path, member, size,
    modification time), so a warm run hashes nothing: hashing 2,000 CT slices (1 GB) takes about 2 s.

    The memo is kept in the writable cache ``folder``; the memos of ``shared`` (read-only) caches
    are read too. A file under the memo folder's parent is named relative to it (the cohort beside
    a shared cache), so a shared memo holds for every user who sees that folder, at any path, as
    long as copies keep modification times (``cp -a``, ``rsync -a``).
    """

    FILE = "file_digests.json"

    def __init__(self, folder: Path, shared=()):
        self.folder = Path(folder)
        self.memo = _load_memo(self.folder)
        self.shared = [(Path(root), _load_memo(Path(root))) for root in shared]
        self.unsaved = 0

    def digest(self, item, reader: ImageReader) -> str:
        """The SHA-1 of ``item``'s bytes (read with ``reader`` unless remembered)."""
        stat = item.source.stat()
        path = os.path.abspath(item.source)
        for root, memo in self.shared:
            digest = memo.get(_memo_key(root, path, item.member, stat))
            if digest is not None:
                return digest
        key = _memo_key(self.folder, path, item.member, stat)
        digest = self.memo.get(key)
        if digest is None:
            digest = self.memo[key] = hashlib.sha1(reader.read_bytes(item)).hexdigest()
            self.unsaved += 1
        return digest

    def save(self) -> None:
        """Merge the memo into the file on disk, less files that are gone (atomically).

        Merging keeps what another process saved meanwhile; a failure (a folder that cannot be
        written) only costs hashing again next time.
        """
        if not self.unsaved:
            return
        merged = {**_load_memo(self.folder), **self.memo}
        live = {key: value for key, value in merged.items() if _memo_path(self.folder, key).exists()}
        try:
            _replace_atomically(self.folder, self.FILE, lambda out: out.write(json.dumps(live).encode()))
            self.unsaved = 0
        except OSError:
            pass


def _read_shard(shard: Path, wanted: dict[str, list[int]]):
    """The (row, targets) pairs of ``shard`` that ``wanted`` asks for, and its embeddings.

    Raises ValueError (or what NumPy and zipfile raise) when the shard is damaged: unreadable,
    truncated, failing its CRC, or holding arrays of the wrong shape, type or values.
    """
    with open(shard, "rb") as handle, np.load(handle) as data:  # our handle: closed on failure too
        keys = data["keys"]
        if keys.ndim != 1 or keys.dtype.kind != "U":
            raise ValueError(f"keys of shape {keys.shape} and type {keys.dtype}")
        rows = [(r, wanted[k]) for r, k in enumerate(keys.tolist()) if k in wanted]
        if not rows:
            return rows, None
        embeddings = data["embeddings"]
    if embeddings.shape != (len(keys), EMBEDDING_SIZE) or embeddings.dtype != np.float32:
        raise ValueError(f"embeddings of shape {embeddings.shape} and type {embeddings.dtype}")
    if not np.isfinite(embeddings).all():
        raise ValueError("embeddings that are not finite numbers")
    return rows, embeddings


class EmbeddingStore:
    """Embeddings on disk: a folder of shards, each an ``.npz`` of ``keys`` and ``embeddings``.

    One shard per call that computed new embeddings (not one file per image), so reading a few
    thousand embeddings opens a handful of files. Shards are written to a temporary file and
    renamed, so a reader never sees half a shard and parallel writers do not collide. A damaged
    shard (truncated, corrupt) is reported in one warning line and skipped, so its embeddings are
    computed again; one in the writable ``folder`` is deleted, so the new shard replaces it.
    ``shared`` folders are read after ``folder`` and never written.
    """

    def __init__(self, folder: Path, shared=()):
        self.folder = Path(folder)
        self.shared = [Path(root) for root in shared]

    def read(self, keys: list[str], out: np.ndarray) -> np.ndarray:
        """Fill ``out[i]`` for each cached ``keys[i]``; return the boolean mask of those found."""
        wanted: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            wanted.setdefault(key, []).append(i)
        found = np.zeros(len(keys), dtype=bool)
        for folder in [self.folder, *self.shared]:
            for shard in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
                if not wanted:
                    return found
                try:
                    rows, embeddings = _read_shard(shard, wanted)
                except Exception as error:  # NumPy, zipfile and zlib raise many kinds on damage
                    self._damaged(shard, error)
                    continue
                for row, targets in rows:
                    out[targets] = embeddings[row]
                    found[targets] = True
                    del wanted[keys[targets[0]]]
        return found

    def _damaged(self, shard: Path, error: Exception) -> None:
        """Warn (one line) about a damaged shard; delete it when it is in the writable folder."""
        ours = shard.parent == self.folder
        warnings.warn(f"The embedding cache file '{shard}' is damaged ({type(error).__name__}: {error}); "
                      f"its embeddings are computed again" + (" and the file replaced." if ours else
                      ". Ask whoever prepared the shared cache to run 'rsna-workshop classroom prepare' "
                      "again."), stacklevel=4)
        if ours:
            with contextlib.suppress(OSError):
                shard.unlink()

    def write(self, keys: list[str], embeddings: np.ndarray) -> Path | None:
        """Store one shard named by a digest of its keys; None (with a warning) if it cannot be written."""
        digest = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:16]
        arrays = {"keys": np.array(keys), "embeddings": np.asarray(embeddings, dtype=np.float32)}
        try:
            return _replace_atomically(self.folder, f"{digest}.npz", lambda out: np.savez(out, **arrays))
        except OSError as error:
            warnings.warn(f"Cannot write the embedding cache in '{self.folder}' ({error.strerror or error}): "
                          f"these embeddings are kept for this run only. Set RSNA_WORKSHOP_CACHE to a "
                          f"folder you can write.", stacklevel=3)
            return None


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
