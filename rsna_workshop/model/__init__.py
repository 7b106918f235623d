"""Teachable Machine's model: a frozen MobileNetV2 backbone, cached embeddings and a small head.

>>> from rsna_workshop.model import train
>>> result = train(dataset, seed=0)                     # doctest: +SKIP
>>> result.classifier.predict("slice.dcm")              # doctest: +SKIP
"""

from .backbone import (
    BACKBONE_PARAMS,
    EMBEDDING_SIZE,
    WEIGHTS_ENV,
    WEIGHTS_FILENAME,
    WEIGHTS_URL,
    build_backbone,
    install_weights,
    resolve_weights,
    shared_backbone,
)
from .classifier import Classifier
from .embeddings import embed, project_2d, scale
from .head import Head
from .saliency import gradcam
from .scoring import Scores, score
from .training import TrainingResult, train

__all__ = [
    "BACKBONE_PARAMS", "EMBEDDING_SIZE", "WEIGHTS_ENV", "WEIGHTS_FILENAME", "WEIGHTS_URL", "Classifier",
    "Head", "Scores", "TrainingResult", "build_backbone", "embed", "gradcam", "install_weights", "project_2d",
    "resolve_weights", "scale", "score", "shared_backbone", "train",
]
