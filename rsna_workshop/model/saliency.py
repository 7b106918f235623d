"""Where the model looks: Grad-CAM on the last convolution block of the backbone.

Grad-CAM weighs MobileNetV2's last feature maps (7 x 7 cells on a 224-pixel image, each about 32
pixels wide: a seventh of the head) by how much each pushes the chosen class's probability. The
map is coarse, and saliency maps are known to be unreliable for localising findings: they show
what moved the output, not where the lesion is.
"""

from __future__ import annotations

import numpy as np

from ..errors import ImageError, SettingsError
from ..imaging import MODEL_SIZE
from .embeddings import scale

GRADCAM_LAYER = "out_relu"  # MobileNetV2's last convolution block (Conv_1, batch norm, ReLU6)


def find_layer(model, name: str):
    """``(container, layer)``: the model, or nested model, that holds the layer called ``name``."""
    import keras  # deferred: TensorFlow takes seconds to import

    for layer in model.layers:
        if layer.name == name:
            return model, layer
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found = find_layer(layer, name)
            if found is not None:
                return found
    return None


def feature_and_output(model, layer_name: str):
    """A function ``x -> (activations of layer_name, model output)``, differentiable end to end.

    Works for a flat functional model and for a chain whose first stage (e.g. the backbone)
    is a nested model holding the layer.
    """
    import keras  # deferred: TensorFlow takes seconds to import

    found = find_layer(model, layer_name)
    if found is None:
        raise SettingsError(f"The model has no layer named '{layer_name}'. Grad-CAM needs "
                         f"MobileNetV2's last convolution block ('{GRADCAM_LAYER}').")
    container, layer = found
    inner = keras.Model(container.inputs, [layer.output, container.outputs[0]])
    if container is model:
        return inner
    stages = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    after = stages[stages.index(container) + 1:] if container in stages else None
    if after is None:
        raise SettingsError(f"Grad-CAM expects the layer '{layer_name}' in the model's first stage.")

    def run(x):
        features, out = inner(x)
        for stage in after:
            out = stage(out)
        return features, out

    return run


def scale_for_model(images) -> np.ndarray:
    """uint8 RGB images, one ``(224, 224, 3)`` or a batch, to the model's ``x / 127 - 1`` floats."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.shape[1:] != (MODEL_SIZE, MODEL_SIZE, 3):
        raise ImageError(f"Expected (224, 224, 3) RGB images, got shape {images.shape[1:]}. "
                         f"Use the data set's image(i), which gives model-ready images.")
    return scale(images)


def gradcam(model, image, class_index: int | None = None, layer: str = GRADCAM_LAYER):
    """Grad-CAM: where in ``image`` the evidence for ``class_index`` lies, as a (224, 224) map.

    Gradients of the class probability with respect to the last convolution's activations give
    one weight per channel; the weighted sum of channels, kept where positive, is upsampled to
    the image and scaled to [0, 1] (all zeros when nothing speaks for the class).
    ``class_index`` None explains the predicted class. ``image`` is uint8 RGB (224, 224, 3).
    """
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import

    x = tf.constant(scale_for_model(image))
    forward = feature_and_output(model, layer)
    with tf.GradientTape() as tape:
        features, probabilities = forward(x)
        k = int(np.argmax(probabilities[0])) if class_index is None else int(class_index)
        score = probabilities[:, k]
    grads = tape.gradient(score, features)[0].numpy()
    features = features[0].numpy()
    cam = np.maximum(np.tensordot(features, grads.mean(axis=(0, 1)), axes=([2], [0])), 0)
    cam = tf.image.resize(cam[..., None], (MODEL_SIZE, MODEL_SIZE), method="bilinear").numpy()[..., 0]
    top = cam.max()
    return (cam / top if top > 0 else np.zeros_like(cam)).astype(np.float32)
