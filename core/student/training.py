"""Training a student's own `CaptioningRNN` beside Caption Lab's, step for step.

    solver = PairedSolver(their_model, data, update_rule="adam", ...)   # the notebook's options
    solver.train()
    solver.loss_history, solver.reference_losses

The reference model starts from the student's own initial weights (copied, so both start
in the same place) and is updated on the same minibatches with the same rule and
schedule: where the two loss curves part, the student's `loss` (or a layer under it)
differs from the reference, even when every unit check passed. The student's model is
seen through `CheckedModel`, so a `loss` that returns no gradient for a parameter stops
the run with a sentence that says so, not a KeyError from inside the optimiser.

This runs the student's code: call it only in a process that `confine` has walled in
(the training worker of a run with code, see `explorer.runs.worker`).
"""
from __future__ import annotations

import numpy as np

from ..model import PARAM_NAMES, CaptioningRNN
from ..solver import CaptioningSolver
from ..text import message


class StudentCodeError(RuntimeError):
    """The student's model cannot be trained as it is; the message says what to change."""


class CheckedModel:
    """The student's model as the solver sees it: the same params dict, a checked loss."""

    def __init__(self, model):
        params = getattr(model, "params", None)
        if not isinstance(params, dict):
            raise StudentCodeError(message("Your CaptioningRNN has no params dict: __init__ must fill self.params."))
        missing = [p for p in PARAM_NAMES if p not in params]
        if missing:
            raise StudentCodeError(message("Your CaptioningRNN's params has no {missing}: the course's "
                                           "__init__ makes {names}.", missing=", ".join(missing),
                                           names=", ".join(PARAM_NAMES)))
        self.inner, self.params = model, params

    def loss(self, features, captions):
        out = self.inner.loss(features, captions)
        if not isinstance(out, tuple) or len(out) != 2:
            raise StudentCodeError(message("Your CaptioningRNN.loss must return (loss, grads)."))
        loss, grads = out
        if not isinstance(grads, dict):
            raise StudentCodeError(message("Your CaptioningRNN.loss returned grads that are not a dict keyed "
                                           "like self.params."))
        missing = [p for p in self.params if p not in grads or grads[p] is None]
        if missing:
            raise StudentCodeError(message("Your CaptioningRNN.loss gave no gradient for {missing}: "
                                           "every parameter in self.params needs one.", missing=", ".join(missing)))
        for p, g in grads.items():
            if p in self.params and np.shape(g) != np.shape(self.params[p]):
                raise StudentCodeError(message("Your CaptioningRNN.loss gave grads['{name}'] of shape {got}; "
                                               "self.params['{name}'] is {want}.", name=p, got=str(np.shape(g)),
                                               want=str(np.shape(self.params[p]))))
        return loss, grads


def twin(model, word_to_idx: dict, *, input_dim: int, wordvec_dim: int, hidden_dim: int, cell_type: str,
         dtype) -> CaptioningRNN:
    """Caption Lab's model with the student's current weights (copies), shapes checked."""
    reference = CaptioningRNN(word_to_idx, input_dim=input_dim, wordvec_dim=wordvec_dim, hidden_dim=hidden_dim,
                              cell_type=cell_type, dtype=dtype, rng=np.random.RandomState(0))
    for name in PARAM_NAMES:
        weights = np.asarray(model.params[name])
        if weights.shape != reference.params[name].shape:
            raise StudentCodeError(message("Your __init__ makes params['{name}'] of shape {got}; the course's "
                                           "is {want}.", name=name, got=str(weights.shape),
                                           want=str(reference.params[name].shape)))
        reference.params[name] = weights.astype(reference.dtype, copy=True)
    return reference


class PairedSolver(CaptioningSolver):
    """The notebook's solver for the student's model, with the reference model trained on the
    very same minibatches (`reference_loss` is the latest reference loss)."""

    def __init__(self, model, data, *, cell_type: str, hidden_dim: int, wordvec_dim: int, dtype, **kwargs):
        self.student = model
        checked = CheckedModel(model)
        super().__init__(checked, data, **kwargs)
        self.dims = {"input_dim": data["train_features"].shape[1], "wordvec_dim": wordvec_dim,
                     "hidden_dim": hidden_dim, "cell_type": cell_type, "dtype": np.dtype(dtype)}
        self.word_to_idx = data["word_to_idx"]
        reference = twin(model, self.word_to_idx, **self.dims)
        self.reference_solver = CaptioningSolver(
            reference, data, update_rule=self.update_rule, optim_config=dict(self.optim_config),
            lr_decay=self.lr_decay, batch_size=self.batch_size, num_epochs=self.num_epochs, verbose=False)
        self.reference_loss: float | None = None
        self.reference_losses: list[float] = []
        self._weights = None

    def _update(self, captions: np.ndarray, features: np.ndarray) -> float:
        loss = super()._update(captions, features)
        self.reference_loss = self.reference_solver._update(captions, features)
        self.reference_losses.append(self.reference_loss)
        return loss

    def _end_epoch(self) -> None:
        super()._end_epoch()
        self.reference_solver._end_epoch()

    def weights(self) -> CaptioningRNN:
        """The student's current weights in a Caption Lab model (to save, or to decode with)."""
        if self._weights is None:
            self._weights = CaptioningRNN(self.word_to_idx, **self.dims, rng=np.random.RandomState(0))
        for name in PARAM_NAMES:
            self._weights.params[name] = np.asarray(self.model.params[name], dtype=self._weights.dtype)
        return self._weights


def parting_point(losses, reference, tolerance: float = 0.01) -> int | None:
    """The first (0-based) iteration from which the two loss curves stay more than `tolerance`
    apart (relative to the reference), or None when they never part. A single noisy step
    is not a parting: the curves must differ there and at every later iteration but a few."""
    losses = np.asarray(losses, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    n = min(len(losses), len(reference))
    if n == 0:
        return None
    apart = ~(np.abs(losses[:n] - reference[:n]) <= tolerance * np.maximum(np.abs(reference[:n]), 1e-8))
    if not apart.any():
        return None
    # the earliest point after which at least 90% of the iterations differ
    from_end = np.cumsum(apart[::-1])[::-1] / np.arange(n, 0, -1)
    candidates = np.flatnonzero(apart & (from_end >= 0.9))
    return int(candidates[0]) if len(candidates) else None
