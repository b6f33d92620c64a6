"""Caption Lab's numpy core: the CS231n RNN/LSTM captioning API, importable as `from core import NAME`.

A notebook written for the course's `cs231n` package runs against this one by changing
only its import lines, e.g. `from core import rnn_forward, CaptioningRNN, CaptioningSolver`.
Each name is imported the first time it is used (PEP 562), so that `import core.layers`, or
the student checker's fresh interpreter, does not pay for h5py, requests and Pillow; the
names, and what static tools see, are those of the imports under `TYPE_CHECKING` below.
This package never imports streamlit.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .data.characters import characters
    from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from .data.coco import decode_captions, load_coco_data, sample_coco_minibatch
    from .data.errors import DatasetError
    from .data.images import image_from_url
    from .decoding import (DecodeStep, Decoded, StepDecoder, Trace, beam_search, decode,
                           greedy_decode, teacher_forced_trace, temperature_decode)
    from .gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
    from .layers import (affine_backward, affine_forward, lstm_backward, lstm_forward,
                         lstm_step_backward, lstm_step_forward, rnn_backward, rnn_forward,
                         rnn_step_backward, rnn_step_forward, sigmoid, temporal_affine_backward,
                         temporal_affine_forward, temporal_softmax_loss, word_embedding_backward,
                         word_embedding_forward)
    from .metrics import corpus_bleu, notebook_bleu, sentence_bleu
    from .model import CaptioningRNN
    from .optim import adam, rmsprop, sgd, sgd_momentum
    from .solver import CaptioningSolver, Progress

# where each name lives, for __getattr__ (tests/test_imports.py holds it to the imports above)
_MODULES = {
    ".data.characters": ("characters",),
    ".checkpoint": ("CheckpointError", "load_checkpoint", "save_checkpoint"),
    ".data.coco": ("decode_captions", "load_coco_data", "sample_coco_minibatch"),
    ".data.errors": ("DatasetError",),
    ".data.images": ("image_from_url",),
    ".decoding": ("DecodeStep", "Decoded", "StepDecoder", "Trace", "beam_search", "decode", "greedy_decode",
                  "teacher_forced_trace", "temperature_decode"),
    ".gradcheck": ("eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error"),
    ".layers": ("affine_backward", "affine_forward", "lstm_backward", "lstm_forward", "lstm_step_backward",
                "lstm_step_forward", "rnn_backward", "rnn_forward", "rnn_step_backward", "rnn_step_forward",
                "sigmoid", "temporal_affine_backward", "temporal_affine_forward", "temporal_softmax_loss",
                "word_embedding_backward", "word_embedding_forward"),
    ".metrics": ("corpus_bleu", "notebook_bleu", "sentence_bleu"),
    ".model": ("CaptioningRNN",),
    ".optim": ("adam", "rmsprop", "sgd", "sgd_momentum"),
    ".solver": ("CaptioningSolver", "Progress"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value                     # the next look-up finds it directly
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
