"""Per-epoch bookkeeping shared by both trainers: the history, the callback, the progress bar, stopping."""

from __future__ import annotations

import math

HISTORY_KEYS = ("accuracy", "loss", "test_accuracy", "test_loss")
"""What is recorded after every epoch: training batches' accuracy and loss (as Keras logs them),
and accuracy and loss on the held-out test set."""


class EpochLog:
    """Records one epoch at a time; says when early stopping should stop."""

    def __init__(self, epochs: int, patience: int | None, on_epoch, progress: bool):
        from tqdm.auto import tqdm

        self.history = {key: [] for key in HISTORY_KEYS}
        self.patience, self.on_epoch = patience, on_epoch
        self.bar = tqdm(total=epochs, unit="epoch", desc="Training", disable=not progress)
        self.best_loss, self.best_epoch = math.inf, 0

    def add(self, **values) -> bool:
        """Record one epoch; True when early stopping says stop."""
        for key in HISTORY_KEYS:
            self.history[key].append(float(values[key]))
        epoch = len(self.history["loss"])
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{values['loss']:.3f}", acc=f"{values['accuracy']:.3f}",
                             test_acc=f"{values['test_accuracy']:.3f}", refresh=False)
        if self.on_epoch is not None:
            self.on_epoch(epoch, self.history)
        if values["test_loss"] < self.best_loss:
            self.best_loss, self.best_epoch = values["test_loss"], epoch
        return self.patience is not None and epoch - self.best_epoch >= self.patience

    def close(self) -> dict:
        """The history to keep: up to the best epoch when early stopping restored it."""
        self.bar.close()
        if self.patience is not None:
            for values in self.history.values():
                del values[self.best_epoch :]
        return self.history
