"""Caption Lab's numpy core: the CS231n RNN/LSTM captioning API, importable as `from core import NAME`.

A notebook written for the course's `cs231n` package runs against this one by changing
only its import lines, e.g. `from core import rnn_forward, CaptioningRNN, CaptioningSolver`.
This package never imports streamlit.
"""
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

__all__ = [
    "CaptioningRNN", "CaptioningSolver", "CheckpointError", "DatasetError", "DecodeStep",
    "Decoded", "Progress", "StepDecoder", "Trace", "adam", "affine_backward", "affine_forward",
    "beam_search", "characters", "corpus_bleu", "decode", "decode_captions", "eval_numerical_gradient",
    "eval_numerical_gradient_array", "greedy_decode", "image_from_url", "load_checkpoint",
    "load_coco_data", "lstm_backward", "lstm_forward", "lstm_step_backward",
    "lstm_step_forward", "notebook_bleu", "rel_error", "rmsprop", "rnn_backward",
    "rnn_forward", "rnn_step_backward", "rnn_step_forward", "sample_coco_minibatch",
    "save_checkpoint", "sentence_bleu", "sgd", "sgd_momentum", "sigmoid",
    "teacher_forced_trace", "temperature_decode", "temporal_affine_backward",
    "temporal_affine_forward", "temporal_softmax_loss", "word_embedding_backward",
    "word_embedding_forward",
]
