"""`CaptioningSolver`: minibatch training of a captioning model, with the notebook's semantics.

The loop is the notebook's: `num_epochs * max(num_train // batch_size, 1)` iterations of
sample-a-minibatch, loss, update; the learning rate decays once per epoch. Beyond the
notebook it reports every iteration to callbacks (it never prints unless `verbose`),
honours a stop signal between iterations, can draw minibatches from its own seeded
generator, and ends a run as "diverged at iteration k" when its loss stops being finite
or climbs past EXPLODED times its first value (`diverged`, the one definition), instead of
training on NaNs. The "adam" rule is `core.fast.adam`: `optim.adam` in one compiled pass
for float32 weights, `optim.adam` itself for anything else.
"""
from __future__ import annotations

import ctypes
import functools
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import optim
from .arguments import is_number, positive_int
from .data.coco import sample_coco_minibatch
from .text import message


EXPLODED = 10.0   # a loss this many times a run's first one has diverged, even while finite


def diverged(loss: float, first_loss: float | None) -> bool:
    """Whether a run whose first iteration's loss was `first_loss` has diverged at `loss`:
    the loss is NaN or infinite, or more than EXPLODED times the first (a positive one)."""
    if not np.isfinite(loss):
        return True
    return first_loss is not None and first_loss > 0 and loss > EXPLODED * first_loss


def _all_finite(arrays) -> bool:
    """Whether no gradient holds a NaN or an infinity (`core.fast.all_finite` where Adam is compiled)."""
    return all(np.isfinite(a.sum()) for a in arrays)


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse rather than hand it back to the system.

    Every iteration allocates and frees the same few megabytes of activations; when glibc
    returns them to the kernel, the next iteration pays thousands of page faults (a fifth
    of a small RNN iteration here). Done once per process, on Linux with glibc only;
    returns whether it was done. It changes the allocator of the whole process, so the
    solver never calls it: a process that trains and wants the speed does (Caption Lab's
    training worker, `benchmarks.train_step`); a notebook that imports `core` is left as it is.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) and libc.mallopt(M_MMAP_THRESHOLD, 32 << 20))


@dataclass(frozen=True)
class Progress:
    """What a callback hears after every iteration."""

    iteration: int       # 1-based, the iteration just finished
    total: int           # iterations in the whole run
    loss: float          # this iteration's loss
    elapsed: float       # seconds since train() started
    epoch: int           # epochs completed so far


class CaptioningSolver:
    """Trains a `CaptioningRNN` on a data dict from `load_coco_data`.

    Keyword options (the notebook's): update_rule ("adam", "sgd", "sgd_momentum",
    "rmsprop"; default "sgd"), optim_config (dict, e.g. {"learning_rate": 5e-3}),
    lr_decay (1.0), batch_size (100), num_epochs (10), print_every (10), verbose (True).
    Beyond the notebook: callbacks (list of f(Progress)), should_stop (a callable, or
    anything with is_set(), checked between iterations), rng or seed (minibatch order:
    a Generator or a seed; without either, numpy's global random state, as the notebook
    did). An unknown option, or an optim_config key no rule knows, raises a ValueError
    that names it; so does a value out of range (see `optim.check_config`).
    """

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.data = data
        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        self.callbacks: list[Callable[[Progress], None]] = list(kwargs.pop("callbacks", []))
        self.should_stop = kwargs.pop("should_stop", None)
        rng, seed = kwargs.pop("rng", None), kwargs.pop("seed", None)
        if kwargs:
            extra = ", ".join(f'"{k}"' for k in kwargs)
            raise ValueError(f"Unrecognized arguments {extra}")
        if self.update_rule not in optim.RULES:
            raise ValueError(f'Invalid update_rule "{self.update_rule}": use one of {", ".join(optim.RULES)}')
        self._check_numbers()
        if rng is not None and seed is not None:
            raise ValueError("Give CaptioningSolver a seed or an rng, not both")
        # a Generator is kept as it is; a seed (given as either) becomes one
        given = rng if rng is not None else seed
        self.rng = None if given is None else np.random.default_rng(given)
        self._rule = optim.RULES[self.update_rule]
        self._finite = _all_finite
        if self.update_rule == "adam":
            from . import fast                    # one compiled pass for float32 weights
            self._rule, self._finite = fast.adam, fast.all_finite
        self._reset()

    def _check_numbers(self):
        num_train = self.data["train_captions"].shape[0]
        for name in ("batch_size", "num_epochs", "print_every"):
            setattr(self, name, positive_int(name, getattr(self, name)))
        if self.batch_size > num_train:
            raise ValueError(f"batch_size {self.batch_size} is larger than the {num_train} training captions")
        if not (is_number(self.lr_decay) and 0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")
        optim.check_config(self.optim_config)

    def _reset(self):
        """Set up the bookkeeping: no iterations, no history, fresh optimiser state."""
        self.epoch = 0
        self.loss_history: list[float] = []
        self.status = "ready"               # ready, running, done, stopped, diverged
        self.diverged_at: int | None = None
        self.diverged_loss: float | None = None  # the loss that ended it: NaN, infinite or exploded
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    @property
    def iterations_per_epoch(self) -> int:
        return max(self.data["train_captions"].shape[0] // self.batch_size, 1)

    @property
    def num_iterations(self) -> int:
        return self.num_epochs * self.iterations_per_epoch

    def _step(self) -> float:
        """One minibatch update; returns the loss (non-finite: nothing is updated)."""
        captions, features, _ = sample_coco_minibatch(self.data, batch_size=self.batch_size,
                                                      split="train", rng=self.rng)
        return self._update(captions, features)

    def _update(self, captions: np.ndarray, features: np.ndarray) -> float:
        """The loss on one minibatch and, where it and its gradients are finite, one update."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss, grads = self.model.loss(features, captions)
            if not np.isfinite(loss) or not self._finite(grads.values()):
                return float("nan") if np.isfinite(loss) else float(loss)
            for p, w in self.model.params.items():
                next_w, self.optim_configs[p] = self._rule(w, grads[p], self.optim_configs[p])
                self.model.params[p] = next_w
        return float(loss)

    def _end_epoch(self) -> None:
        """Count the epoch and decay every parameter's learning rate."""
        self.epoch += 1
        for config in self.optim_configs.values():
            config["learning_rate"] *= self.lr_decay

    def _stop_requested(self) -> bool:
        s = self.should_stop
        if s is None:
            return False
        return bool(s.is_set() if hasattr(s, "is_set") else s())

    def train(self) -> str:
        """Run the whole schedule; returns the final status: done, stopped or diverged."""
        per_epoch, total = self.iterations_per_epoch, self.num_iterations
        self.status = "running"
        started = time.perf_counter()
        for t in range(total):
            if self._stop_requested():
                self.status = "stopped"
                return self.status
            loss = self._step()
            if np.isfinite(loss):          # a finite loss is recorded and reported, even a diverged one
                self.loss_history.append(loss)
                if self.verbose and t % self.print_every == 0:
                    print("(Iteration %d / %d) loss: %f" % (t + 1, total, loss))
                if (t + 1) % per_epoch == 0:
                    self._end_epoch()
                report = Progress(iteration=t + 1, total=total, loss=loss,
                                  elapsed=time.perf_counter() - started, epoch=self.epoch)
                for callback in self.callbacks:
                    callback(report)
            if diverged(loss, self.loss_history[0] if self.loss_history else None):
                self.status, self.diverged_at, self.diverged_loss = "diverged", t + 1, loss
                return self.status
        self.status = "done"
        return self.status

    @property
    def divergence_message(self) -> str | None:
        """A sentence for a user when the run diverged, else None."""
        if self.diverged_at is None:
            return None
        lr = self.optim_config.get("learning_rate")
        loss = self.diverged_loss
        if loss is not None and np.isfinite(loss):
            if lr is None:        # the rule's own default, as it set it on the first update
                lr = self._rule(np.zeros(1), np.zeros(1), {})[1]["learning_rate"]
            return message("Training diverged at iteration {iteration}: the loss reached {loss:.3g}, more than "
                           "{times:g} times its starting value ({first:.3g}), so it was stopped. The learning rate "
                           "({lr}) is probably too high for {rule}; try one ten times smaller.",
                           iteration=self.diverged_at, loss=float(loss), times=EXPLODED,
                           first=float(self.loss_history[0]), lr=optim.format_lr(lr), rule=self.update_rule)
        if lr is None:
            return message("Training diverged at iteration {iteration}: the loss became NaN or infinite. "
                           "The default learning rate is probably too high for {rule}; try one ten "
                           "times smaller.", iteration=self.diverged_at, rule=self.update_rule)
        return message("Training diverged at iteration {iteration}: the loss became NaN or infinite. "
                       "The learning rate ({lr:g}) is probably too high for {rule}; try one ten times "
                       "smaller.", iteration=self.diverged_at, lr=float(lr), rule=self.update_rule)
