"""Beyond Teachable Machine: fine-tuning the backbone's last blocks end to end with Keras.

No embedding cache can help here (the backbone changes), so every epoch runs MobileNetV2 forwards
and backwards on every image: minutes instead of seconds on a laptop.
"""

from __future__ import annotations

import warnings

import numpy as np

from .backbone import EMBEDDING_SIZE, build_backbone
from .classifier import full_model
from .embeddings import scale
from .head import ADAM, Head
from .history import EpochLog

BACKBONE_BLOCKS = 16  # MobileNetV2's inverted-residual blocks, block_1 ... block_16


def fine_tune(dataset, labels, fit_index, test_index, sample_weight, blocks, *, epochs,
              learning_rate, batch_size, seed, patience, on_epoch, progress):
    """Keras training with the last ``blocks`` backbone blocks unfrozen.

    Returns ``(history, test_probabilities, head_weights, keras_model)``.
    """
    import keras  # deferred: TensorFlow takes seconds to import

    warnings.warn(
        f"Fine-tuning {blocks} backbone block(s) runs MobileNetV2 forwards and backwards on every "
        f"image every epoch: expect minutes, not seconds (the embedding cache cannot help).",
        stacklevel=3,
    )
    keras.utils.set_random_seed(seed)
    backbone_model = build_backbone()
    unfreeze_last_blocks(backbone_model, blocks)
    head = Head(EMBEDDING_SIZE, len(dataset.classes), seed=seed)
    model = full_model(backbone_model, len(dataset.classes), head.get_weights())
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, **ADAM),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    eye = np.eye(len(dataset.classes), dtype=np.float32)
    test_x = scale(dataset.images(test_index))
    test_y = eye[labels[test_index]]
    log = EpochLog(epochs, patience, on_epoch, progress)

    class Logger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if log.add(accuracy=logs["accuracy"], loss=logs["loss"],
                       test_accuracy=logs["val_accuracy"], test_loss=logs["val_loss"]):
                self.model.stop_training = True

    callbacks = [Logger()]
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True))
    model.fit(scale(dataset.images(fit_index)), eye[labels[fit_index]],
              sample_weight=None if sample_weight is None else sample_weight[fit_index],
              batch_size=batch_size, epochs=epochs, shuffle=True, validation_data=(test_x, test_y),
              callbacks=callbacks, verbose=0)
    history = log.close()
    head_weights = model.get_layer("dense_hidden").get_weights() + model.get_layer("dense_classes").get_weights()
    return history, np.asarray(model.predict(test_x, verbose=0)), head_weights, model


def unfreeze_last_blocks(backbone_model, blocks: int) -> None:
    """Make the last ``blocks`` blocks and the final 1x1 convolution trainable (batch norms stay frozen)."""
    first = BACKBONE_BLOCKS - blocks + 1
    backbone_model.trainable = True
    for layer in backbone_model.layers:
        name = layer.name
        in_block = name.startswith("block_") and int(name.split("_")[1]) >= first
        is_norm = "BatchNormalization" in type(layer).__name__
        layer.trainable = (in_block or name == "Conv_1") and not is_norm
