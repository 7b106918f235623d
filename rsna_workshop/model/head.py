"""Teachable Machine's head: Dense(100, relu) -> Dense(classes, softmax, no bias), trained by NumPy Adam.

The head is the only part of the model that training changes. It is trained by plain mini-batch
Adam written in NumPy, the same formulas Keras uses, without Keras' per-batch overhead: one
epoch on 1,700 embeddings takes milliseconds (``benchmarks/bench_training.py``).
"""

from __future__ import annotations

import math

import numpy as np

HIDDEN_UNITS = 100
ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}  # Keras and TensorFlow.js defaults
CLIP = 1e-7  # Keras clips probabilities to [CLIP, 1 - CLIP] inside the cross-entropy


def variance_scaling(fan_in: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """TensorFlow.js' ``tf.initializers.varianceScaling({})``, the initializer Teachable Machine's head uses.

    Its defaults are scale 1, mode ``fanIn`` and distribution ``normal``, which TensorFlow.js draws
    as a normal of standard deviation ``sqrt(1 / fan_in)`` cut at two standard deviations, with
    no widening afterwards: the values' spread is about 0.88 ``sqrt(1 / fan_in)``. (Keras in
    Python widens the normal so that the spread after the cut is ``sqrt(1 / fan_in)``; Teachable
    Machine runs in the browser, so its weights start 12 % narrower than that.)

    >>> w = variance_scaling(1280, (1280, 100), np.random.default_rng(0))
    >>> bool(np.abs(w).max() <= 2 / np.sqrt(1280))
    True
    """
    stddev = math.sqrt(1.0 / fan_in)
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(outside.sum())
        outside = np.abs(values) > 2
    return (values * stddev).astype(np.float32)


class Head:
    """Dense(100, relu, bias) -> Dense(n_classes, softmax, no bias), with its Adam state.

    All parameters live in one flat float32 vector (``kernel_1``, ``bias_1`` and ``kernel_2`` are
    views into it), so one Adam step is ten vectorised operations over one array. The update is
    Keras' Adam::

        m = beta_1 m + (1 - beta_1) g        v = beta_2 v + (1 - beta_2) g^2
        w -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

    kept as ``M = m / (1 - beta_1)`` and ``V = v / (1 - beta_2)`` (constants folded into the step),
    which needs fewer passes over memory and gives the same numbers to float rounding.

    >>> head = Head(1280, 2, seed=0)
    >>> head.count_params()
    128200
    """

    def __init__(self, n_inputs: int, n_classes: int, seed: int = 0, learning_rate: float = 0.001):
        rng = np.random.default_rng([seed, 1])
        shapes = {"kernel_1": (n_inputs, HIDDEN_UNITS), "bias_1": (HIDDEN_UNITS,),
                  "kernel_2": (HIDDEN_UNITS, n_classes)}
        sizes = [math.prod(shape) for shape in shapes.values()]
        self.params, self.grads = (np.zeros(sum(sizes), np.float32) for _ in range(2))
        self._moment_1, self._moment_2, self._scratch = (np.zeros_like(self.params) for _ in range(3))
        offsets = np.cumsum([0] + sizes)
        for (name, shape), start, stop in zip(shapes.items(), offsets, offsets[1:]):
            setattr(self, name, self.params[start:stop].reshape(shape))
            setattr(self, "d_" + name, self.grads[start:stop].reshape(shape))
        self.kernel_1[:] = variance_scaling(n_inputs, shapes["kernel_1"], rng)
        self.kernel_2[:] = variance_scaling(HIDDEN_UNITS, shapes["kernel_2"], rng)
        self.learning_rate = learning_rate
        self.steps = 0

    def count_params(self) -> int:
        return self.params.size

    def get_weights(self) -> list[np.ndarray]:
        """Copies of ``[kernel_1, bias_1, kernel_2]``, in Keras' ``get_weights`` order."""
        return [self.kernel_1.copy(), self.bias_1.copy(), self.kernel_2.copy()]

    def set_weights(self, values) -> None:
        for target, value in zip((self.kernel_1, self.bias_1, self.kernel_2), values):
            target[:] = value

    def _hidden(self, x: np.ndarray) -> np.ndarray:
        hidden = x @ self.kernel_1
        hidden += self.bias_1
        return np.maximum(hidden, 0, out=hidden)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Softmax class probabilities (N, n_classes) of embeddings ``x`` (N, n_inputs)."""
        return _softmax(self._hidden(x) @ self.kernel_2)

    def train_batch(self, x: np.ndarray, onehot: np.ndarray, sample_weight: np.ndarray | None):
        """One Adam step on a batch; returns its probabilities (before the step)."""
        hidden = self._hidden(x)
        probabilities = _softmax(hidden @ self.kernel_2)
        d_logits = probabilities - onehot
        if sample_weight is not None:
            d_logits *= sample_weight[:, None]
        d_logits /= len(x)  # Keras averages the loss over the batch
        np.matmul(hidden.T, d_logits, out=self.d_kernel_2)
        d_hidden = d_logits @ self.kernel_2.T
        d_hidden[hidden <= 0] = 0
        np.sum(d_hidden, axis=0, out=self.d_bias_1)
        np.matmul(x.T, d_hidden, out=self.d_kernel_1)
        self._adam_step()
        return probabilities

    def _adam_step(self) -> None:
        beta_1, beta_2, epsilon = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
        self.steps += 1
        t = self.steps
        step = (self.learning_rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
                * (1 - beta_1) / math.sqrt(1 - beta_2))
        m, v, g, tmp = self._moment_1, self._moment_2, self.grads, self._scratch
        m *= beta_1
        m += g
        v *= beta_2
        np.multiply(g, g, out=tmp)
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += epsilon / math.sqrt(1 - beta_2)
        np.divide(m, tmp, out=tmp)
        tmp *= step
        self.params -= tmp


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample categorical cross-entropy, with Keras' clipping of the probabilities."""
    picked = probabilities[np.arange(len(labels)), labels]
    return -np.log(np.clip(picked, CLIP, 1 - CLIP))


def fit_epoch(head: Head, x, labels, order, batch_size: int, sample_weight=None) -> tuple[float, float]:
    """Train ``head`` one epoch over ``x[order]`` in mini-batches; returns (accuracy, loss).

    Like Keras' ``fit`` logs: the running mean over the epoch's batches (the weights change as it
    goes), the loss weighted by ``sample_weight`` when given.
    """
    x, labels = x[order], labels[order]
    onehot = np.eye(head.kernel_2.shape[1], dtype=np.float32)[labels]
    weight = None if sample_weight is None else sample_weight[order]
    seen = np.empty(onehot.shape, np.float32)  # each batch's probabilities, before its step
    for start in range(0, len(order), batch_size):
        stop = start + batch_size
        seen[start:stop] = head.train_batch(
            x[start:stop], onehot[start:stop], None if weight is None else weight[start:stop])
    losses = cross_entropy(seen, labels)
    loss_sum = losses.sum() if weight is None else losses @ weight
    return float(np.mean(seen.argmax(axis=1) == labels)), float(loss_sum) / len(order)
