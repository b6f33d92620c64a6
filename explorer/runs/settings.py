"""What a training run is: its settings, the Train page's presets, and the recipe that trains it.

A `RunConfig` holds everything that decides a run's numbers. `notebook_solver` turns one
into a ready `CaptioningSolver` exactly as the course notebook's overfit cell does:

    np.random.seed(seed)
    data = load_coco_data(base_dir, max_train=max_train, pca_features=pca_features)
    data = characters(data)     # for tokens="characters" only (it draws nothing)
    model = CaptioningRNN(cell_type=..., word_to_idx=data["word_to_idx"],
                          input_dim=data["train_features"].shape[1], hidden_dim=H, wordvec_dim=W)
    solver = CaptioningSolver(model, data, update_rule=..., num_epochs=..., batch_size=...,
                              optim_config={"learning_rate": lr}, lr_decay=...)

so a preset gives the same loss history as that cell run by hand. float32 sums depend on
how many threads the BLAS library uses; the background workers use one, so the numbers
agree to the last bit with a notebook run under `OPENBLAS_NUM_THREADS=1` (and to about
six digits otherwise). Nothing here starts processes or touches streamlit.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from core import CaptioningRNN, CaptioningSolver, characters, load_coco_data
from core.arguments import is_number, is_positive, is_whole
from core.data.characters import TOKENS
from core.model import CELL_TYPES, cell_name
from core.optim import RULES, format_lr
from core.student.training import PairedSolver
from core.text import message
from explorer.i18n import N_

DTYPES = ("float32", "float64")
MAX_HIDDEN = 2048              # beyond this one iteration takes seconds and the app crawls
MAX_WORDVEC = 1024
MAX_ITERATIONS = 20_000        # a classroom server is shared: no run may take all afternoon
MAX_BATCH = 500                # an LSTM with H=2048 in float64 already needs 3 GB for a batch this big
MAX_SEED = 2**32 - 1           # np.random.seed's range
MAX_SLOW_MOTION = 600.0        # seconds: slow motion is for watching a run, not for parking one
AT_MOST = N_("At most {high:,}.")   # a setting above its range, unless a reason is given


@dataclass(frozen=True)
class RunConfig:
    """The settings of one training run (the data set it trains on is chosen separately)."""

    cell_type: str = "rnn"          # "rnn" (vanilla) or "lstm"
    hidden_dim: int = 512           # H, the hidden state size
    wordvec_dim: int = 256          # W, the word-vector size
    update_rule: str = "adam"       # one of core.optim.RULES
    learning_rate: float = 5e-3     # the optimiser's starting learning rate
    lr_decay: float = 0.95          # the learning rate is multiplied by this after every epoch
    batch_size: int = 25            # captions per minibatch
    num_epochs: int = 50            # passes over the training captions
    max_train: int = 50             # training captions drawn (with replacement) from the train split
    seed: int = 231                 # np.random.seed before anything is drawn, as in the notebook
    dtype: str = "float32"          # the model's parameter dtype
    snapshot_every: int = 5         # sample the evolution captions every k iterations
    shuffle_features: bool = False  # pair every caption with another image's features: a model that cannot see
    slow_motion: float = 0.0        # spread the run over at least this many seconds, for a class to watch
                                    # (0: full speed); it changes the pace only, never the numbers
    tokens: str = "words"           # what one timestep reads and writes: "words" or "characters"
                                    # (core.data.characters: the notebook's closing question)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        """Build from a dict (e.g. a saved config.json); unknown keys, and values of the
        wrong type (text for a number, a number for a name), raise a ValueError naming them."""
        known = {f.name: type(f.default) for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"Unknown run settings: {', '.join(unknown)}")
        wrong = sorted(name for name, value in values.items() if not _has_type(value, known[name]))
        if wrong:
            raise ValueError(f"Run settings of the wrong type: {', '.join(wrong)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> "RunConfig":
        return replace(self, **changes)

    @property
    def iterations_per_epoch(self) -> int:
        return max(self.max_train // self.batch_size, 1)

    @property
    def num_iterations(self) -> int:
        """The solver's schedule: epochs times minibatches per epoch."""
        return self.num_epochs * self.iterations_per_epoch

    def describe(self) -> str:
        """A short name: "LSTM H=512 lr 5e-3" ("…, characters" for a character model, "…, features
        shuffled" for a blind baseline)."""
        return (f"{cell_name(self.cell_type, short=True)} H={self.hidden_dim} lr {format_lr(self.learning_rate)}"
                + (", characters" if self.tokens == "characters" else "")
                + (", features shuffled" if self.shuffle_features else ""))

    def validate(self, num_train_available: int | None = None) -> dict[str, str]:
        """Every problem with these settings as {field: message}; empty when they are usable."""
        problems: dict[str, str] = {}

        def whole(name, value, low, high, too_high=AT_MOST):
            if not is_whole(value):
                problems[name] = message("Must be a whole number, not {value!r}.", value=value)
            elif not is_whole(value, low):
                problems[name] = message("Must be at least {low}.", low=low)
            elif not is_whole(value, low, high):
                problems[name] = message(too_high, high=high)

        if self.cell_type not in CELL_TYPES:
            problems["cell_type"] = message("Choose {first} or {second}.", first=CELL_TYPES[0],
                                            second=CELL_TYPES[1])
        whole("hidden_dim", self.hidden_dim, 1, MAX_HIDDEN,
              N_("At most {high:,}: a bigger hidden state makes every iteration take seconds."))
        whole("wordvec_dim", self.wordvec_dim, 1, MAX_WORDVEC,
              N_("At most {high:,}: a bigger word vector makes every iteration slow."))
        if self.update_rule not in RULES:
            problems["update_rule"] = message("Choose one of {rules}.", rules=", ".join(RULES))
        lr = self.learning_rate
        if not is_positive(lr):
            problems["learning_rate"] = message("Must be a positive number, e.g. 5e-3.")
        decay = self.lr_decay
        if not is_number(decay) or not math.isfinite(decay) or not 0 < decay <= 1:
            problems["lr_decay"] = message("Must be in (0, 1]: 1 keeps the rate, 0.95 shrinks it 5% per epoch.")
        whole("max_train", self.max_train, 1, num_train_available,
              N_("At most {high:,} (the training captions in this data set)."))
        whole("batch_size", self.batch_size, 1, MAX_BATCH,
              N_("At most {high:,}: a bigger batch needs gigabytes of the shared server's memory."))
        if "batch_size" not in problems and "max_train" not in problems \
                and self.batch_size > self.max_train:
            problems["batch_size"] = message("A batch of {batch} is more than the {captions} training captions.",
                                             batch=self.batch_size, captions=self.max_train)
        whole("num_epochs", self.num_epochs, 1, None)
        if not problems.keys() & {"num_epochs", "batch_size", "max_train"} \
                and self.num_iterations > MAX_ITERATIONS:
            problems["num_epochs"] = message("That is {iterations:,} iterations; a run may have at most "
                                             "{most:,}. Use fewer epochs.", iterations=self.num_iterations,
                                             most=MAX_ITERATIONS)
        whole("seed", self.seed, 0, MAX_SEED)
        if self.dtype not in DTYPES:
            problems["dtype"] = message("Choose {first} or {second}.", first=DTYPES[0], second=DTYPES[1])
        whole("snapshot_every", self.snapshot_every, 1, None)
        if not isinstance(self.shuffle_features, (bool, np.bool_)):
            problems["shuffle_features"] = message("Must be true or false.")
        if self.tokens not in TOKENS:
            problems["tokens"] = message("Choose {first} or {second}.", first=TOKENS[0], second=TOKENS[1])
        pace = self.slow_motion
        if not is_number(pace) or not math.isfinite(pace) or not 0 <= pace <= MAX_SLOW_MOTION:
            problems["slow_motion"] = message("Must be from 0 (full speed) to {most:g} seconds.",
                                              most=MAX_SLOW_MOTION)
        return problems


def _has_type(value, kind: type) -> bool:
    """Whether `value` may stand for a setting of type `kind` (an int may stand for a float)."""
    if kind is bool:
        return isinstance(value, (bool, np.bool_))
    if kind is str:
        return isinstance(value, str)
    if kind is int:
        return is_whole(value)
    return is_number(value)


NOTEBOOK_RNN = RunConfig()
# benchmarks/demo_recipe.py's recipe, on the notebook's loader: 10,000 captions drawn from train
DEMO_RECIPE = RunConfig(hidden_dim=256, wordvec_dim=128, lr_decay=0.9, batch_size=100, num_epochs=10,
                        max_train=10_000, seed=0, snapshot_every=50)
# keyed by their English names (the radio's values); the Train page shows them translated
PRESETS: dict[str, RunConfig] = {
    N_("Notebook RNN overfit"): NOTEBOOK_RNN,
    N_("Notebook LSTM overfit"): NOTEBOOK_RNN.replace(cell_type="lstm", lr_decay=0.995),
    N_("Notebook RNN overfit, characters"): NOTEBOOK_RNN.replace(tokens="characters"),
    N_("Notebook LSTM overfit, characters"): NOTEBOOK_RNN.replace(cell_type="lstm", lr_decay=0.995,
                                                                   tokens="characters"),
    N_("Demo recipe (generalises)"): DEMO_RECIPE,
    N_("Demo recipe, features shuffled"): DEMO_RECIPE.replace(shuffle_features=True),
}
CUSTOM = N_("Custom")
# Compare's "Words or characters?": one recipe for a word model and a character model, only the
# tokens differ; small enough that the character LSTM trains in minutes (400 iterations)
PAIR_RECIPE = DEMO_RECIPE.replace(hidden_dim=128, wordvec_dim=64, batch_size=50, num_epochs=4, max_train=5000)


def pair_config(cell_type: str, tokens: str) -> RunConfig:
    """The pair recipe for one cell and one kind of token."""
    return PAIR_RECIPE.replace(cell_type=cell_type, tokens=tokens)


def same_recipe(a: dict, b: RunConfig) -> bool:
    """Whether a run's settings (a dict) are `b`'s, but for pace and snapshots, which change no number."""
    try:
        a = RunConfig.from_dict(a)
    except (TypeError, ValueError):
        return False
    return a.replace(slow_motion=b.slow_motion, snapshot_every=b.snapshot_every) == b


# --- the recipe ----------------------------------------------------------------------

def training_rows(config: RunConfig, num_train_captions: int) -> np.ndarray:
    """The train split's caption rows a run of `config` trains on: (max_train,) ints.

    The same draw as `notebook_solver`'s loading: `np.random.seed(seed)` and then
    `load_coco_data`'s `np.random.randint(num_train, size=max_train)` on the global
    state, here from a private `RandomState(seed)` so nothing global moves. The draw is
    with replacement (a row may repeat), and a run always makes it: even with max_train
    equal to the split's size it sees only about 63% of the captions. Raises ValueError
    when the split has fewer than max_train captions, as loading would.
    """
    if config.max_train > num_train_captions:
        raise ValueError(f"max_train={config.max_train} is more than the {num_train_captions} "
                         f"training captions")
    return np.random.RandomState(config.seed).randint(num_train_captions, size=config.max_train)


def notebook_solver(config: RunConfig, base_dir, pca_features: bool = True, *,
                    callbacks=(), should_stop=None, model_class=None) -> CaptioningSolver:
    """The notebook's overfit cell for `config`: seed, load, model, solver (not yet trained).

    With `model_class` (a student's own `CaptioningRNN`, imported inside the sandbox), the
    model is theirs and the solver a `PairedSolver`, which trains Caption Lab's model from
    the same first weights on the same minibatches beside it. Draws from numpy's global
    random state, as the notebook does, so call it where nothing else uses that state
    meanwhile (the training worker is its own process).
    """
    np.random.seed(config.seed)
    data = load_coco_data(base_dir, max_train=config.max_train, pca_features=pca_features)
    if config.tokens == "characters":         # draws nothing: the notebook's random state is untouched
        data = characters(data)
    if config.shuffle_features:               # its own generator: numpy's global draws stay the notebook's
        order = np.random.default_rng([config.seed, 1]).permutation(len(data["train_features"]))
        data = dict(data, train_features=np.asarray(data["train_features"])[order])
    dims = {"cell_type": config.cell_type, "hidden_dim": config.hidden_dim, "wordvec_dim": config.wordvec_dim}
    options = {"update_rule": config.update_rule, "num_epochs": config.num_epochs,
               "batch_size": config.batch_size, "optim_config": {"learning_rate": config.learning_rate},
               "lr_decay": config.lr_decay, "verbose": False, "callbacks": list(callbacks),
               "should_stop": should_stop}
    if model_class is not None:
        model = model_class(word_to_idx=data["word_to_idx"], input_dim=data["train_features"].shape[1],
                            dtype=np.dtype(config.dtype), **dims)
        return PairedSolver(model, data, dtype=np.dtype(config.dtype), **dims, **options)
    model = CaptioningRNN(word_to_idx=data["word_to_idx"], input_dim=data["train_features"].shape[1],
                          dtype=np.dtype(config.dtype), **dims)
    return CaptioningSolver(model, data, **options)
