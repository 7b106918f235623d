"""The frozen ImageNet MobileNetV2 backbone that Teachable Machine trains on, online and offline.

Online, Keras downloads the weights file once into its cache. Offline, point
``RSNA_WORKSHOP_WEIGHTS`` at a local copy of the file, or install it into the Keras cache with
``rsna-workshop weights install PATH``. Without either and without network, building the backbone
fails at once with a message that says how to supply the file: it never falls back to random
weights (``random_weights=True`` exists only for tests of shapes).

>>> resolve_weights().origin   # doctest: +SKIP
'RSNA_WORKSHOP_WEIGHTS'
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .. import config
from ..errors import InvalidWeightsError, MissingFileError, WeightsUnavailableError
from ..imaging import MODEL_SIZE

WEIGHTS_FILENAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/" + WEIGHTS_FILENAME
)
WEIGHTS_ENV = "RSNA_WORKSHOP_WEIGHTS"
BACKBONE_PARAMS = 410_208  # MobileNetV2, alpha 0.35, 224x224, no top
EMBEDDING_LAYER = "out_relu"
EMBEDDING_SIZE = 1280


@dataclass(frozen=True)
class WeightsSource:
    """Where the backbone weights come from: a local file, or Keras' download (``path`` None)."""

    path: Path | None
    origin: str

    @property
    def keras_argument(self) -> str:
        """The value to pass as ``weights=`` to ``keras.applications.MobileNetV2``."""
        return str(self.path) if self.path else "imagenet"


def keras_cache_file() -> Path:
    """Where Keras keeps (and looks for) the downloaded weights file."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(keras_home) / "models" / WEIGHTS_FILENAME


def network_available(timeout: float = 3.0) -> bool:
    """True when the Keras weights server answers (always False with ``RSNA_WORKSHOP_OFFLINE=1``)."""
    if config.offline():
        return False
    host = WEIGHTS_URL.split("/")[2]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def missing_weights_message() -> str:
    """What to do when the weights can be neither found nor downloaded."""
    return (
        f"The MobileNetV2 backbone weights file '{WEIGHTS_FILENAME}' was not found and cannot be "
        f"downloaded (no network).\n"
        f"Keras downloads it from {WEIGHTS_URL}\n"
        f"Supply it in one of two ways:\n"
        f"  1. set {WEIGHTS_ENV}=/path/to/{WEIGHTS_FILENAME}\n"
        f"  2. rsna-workshop weights install /path/to/{WEIGHTS_FILENAME}\n"
        f"     (copies it into the Keras cache: {keras_cache_file()})"
    )


def resolve_weights() -> WeightsSource:
    """Find the weights: ``$RSNA_WORKSHOP_WEIGHTS``, then the Keras cache, then Keras' download."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(
                f"{WEIGHTS_ENV} is set to '{env}', but no file is there. Fix the path, or unset "
                f"{WEIGHTS_ENV} to use the Keras cache or download.\n\n" + missing_weights_message()
            )
        return WeightsSource(path.resolve(), WEIGHTS_ENV)
    cached = keras_cache_file()
    if cached.is_file():
        return WeightsSource(cached, "Keras cache")
    if network_available():
        return WeightsSource(None, "download")
    raise WeightsUnavailableError(missing_weights_message())


def quiet_tensorflow() -> None:
    """Import TensorFlow, once per process, with its start-up log lines silenced.

    They (CPU features, CUDA probing) are written straight to the process's error stream, where a
    notebook shows them in red and alarms people although nothing is wrong; later messages and all
    errors still show. Everything here that builds a Keras model calls this first, so TensorFlow
    (about 0.75 GB of memory) is loaded only when a lesson needs the backbone: training on cached
    embeddings never does.
    """
    if "tensorflow" in sys.modules:
        return
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def mobilenet(weights: str | None):
    """``keras.applications.MobileNetV2`` as Teachable Machine uses it (alpha 0.35, 224, no top)."""
    quiet_tensorflow()
    import keras

    return keras.applications.MobileNetV2(
        input_shape=(MODEL_SIZE, MODEL_SIZE, 3), alpha=0.35, include_top=False, weights=weights
    )


def build_backbone(weights: str | Path | None = None, *, random_weights: bool = False):
    """The frozen feature extractor: MobileNetV2 up to ``out_relu``, then global average pooling.

    Input: (N, 224, 224, 3) float32 already scaled as ``x / 127 - 1``. Output: (N, 1280).
    ``weights`` is a file path; None resolves it (see :func:`resolve_weights`).
    """
    quiet_tensorflow()
    import keras

    if random_weights:
        keras_weights = None
    elif weights is not None:
        keras_weights = str(weights)
    else:
        keras_weights = resolve_weights().keras_argument
    base = mobilenet(keras_weights)
    pooled = keras.layers.GlobalAveragePooling2D(name="embedding")(
        base.get_layer(EMBEDDING_LAYER).output
    )
    backbone = keras.Model(base.input, pooled, name="mobilenetv2_0.35_embedding")
    backbone.trainable = False
    return backbone


def verify_weights(path: str | Path) -> int:
    """Load ``path`` into the exact architecture; return its parameter count or raise."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"No weights file at '{path}'. Check the path and try again.")
    try:
        model = mobilenet(str(path))
    except Exception as error:  # Keras raises many types for a wrong file
        raise InvalidWeightsError(
            f"'{path}' does not load into MobileNetV2 (alpha 0.35, 224x224, no top): {error}. "
            f"Use the file named {WEIGHTS_FILENAME}."
        ) from error
    params = model.count_params()
    if params != BACKBONE_PARAMS:
        raise InvalidWeightsError(
            f"'{path}' loaded {params:,} parameters; MobileNetV2 alpha 0.35 no-top has "
            f"{BACKBONE_PARAMS:,}."
        )
    return params


def install_weights(path: str | Path) -> Path:
    """Check that ``path`` holds the right weights, then copy it into the Keras cache."""
    verify_weights(path)
    target = keras_cache_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as tmp:
        shutil.copyfile(path, tmp.name)
    os.replace(tmp.name, target)
    return target


@lru_cache(maxsize=None)
def _shared_backbone(weights_path: str | None):
    return build_backbone(weights_path)


def shared_backbone():
    """The frozen backbone, built once per process and weights file, and shared by every user.

    Building it takes seconds and it holds about 100 MB, so embedding, prediction and saliency all
    use this one; it is a memo of a pure function of the weights file, not state that changes.
    """
    source = resolve_weights()
    return _shared_backbone(str(source.path) if source.path else None)


@lru_cache(maxsize=None)
def _file_digest(path: str, size: int, mtime: float) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]


def backbone_id() -> str:
    """Names the backbone and its weights file, so a different file never reuses embeddings."""
    source = resolve_weights()
    if source.path is None:
        return "mobilenetv2-0.35-224-imagenet"
    stat = source.path.stat()
    return f"mobilenetv2-0.35-224-{_file_digest(str(source.path), stat.st_size, stat.st_mtime)}"
