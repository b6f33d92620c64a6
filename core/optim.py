"""First-order update rules with the CS231n contract `rule(w, dw, config) -> (next_w, config)`.

`config` holds the hyperparameters and the rule's state (velocity, moments, step count);
a missing entry takes the notebook's default. For speed the rules update `w` and their
state in place and return `w` itself as `next_w`, so keep a copy if you need the old
weights. `check_config` validates a config's keys and ranges up front (the solver calls it).
"""
from __future__ import annotations

import numpy as np

from .arguments import is_number, is_positive


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent. config: learning_rate (1e-2)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum. config: learning_rate (1e-2), momentum (0.9), velocity."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = config["velocity"] = np.zeros_like(w)
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    w += v
    return w, config


def rmsprop(w, dw, config=None):
    """RMSProp. config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = config["cache"] = np.zeros_like(w)
    decay = config["decay_rate"]
    cache *= decay
    cache += (1 - decay) * dw * dw
    denom = np.sqrt(cache)
    denom += config["epsilon"]
    w -= config["learning_rate"] * dw / denom
    return w, config


def adam_defaults(config, w):
    """Adam's config for weights w, ready for this step: the notebook's defaults where a
    key is missing, zero moments m and v on the first step, and the step count t
    incremented (so it is 1 on the first step)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    if config.get("m") is None:
        config["m"] = np.zeros(w.shape, dtype=w.dtype)
    if config.get("v") is None:
        config["v"] = np.zeros(w.shape, dtype=w.dtype)
    config["t"] += 1
    return config


CHUNK = 1 << 16   # elements Adam updates at a time: its five arrays stay in the L2 cache


def adam(w, dw, config=None):
    """Adam with bias correction; the step count t is incremented before it is used.

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v, t.
    The update runs in place over chunks of the flattened arrays, so a large weight
    matrix is read from memory once per step instead of once per arithmetic operation.
    """
    config = adam_defaults(config, w)
    beta1, beta2, eps = config["beta1"], config["beta2"], config["epsilon"]
    t = config["t"]
    # m_hat / (sqrt(v_hat) + eps) with m_hat = m / c1, v_hat = v / c2 is
    # (sqrt(c2) / c1) * m / (sqrt(v) + eps * sqrt(c2)): two fewer passes over v
    root_c2 = (1 - beta2 ** t) ** 0.5
    step_size = config["learning_rate"] * root_c2 / (1 - beta1 ** t)
    eps_v = eps * root_c2
    w_flat, dw_flat = w.reshape(-1), dw.reshape(-1)           # views of contiguous arrays
    m_flat, v_flat = config["m"].reshape(-1), config["v"].reshape(-1)
    scratch = np.empty(min(CHUNK, w_flat.size), dtype=w.dtype)
    for lo in range(0, w_flat.size, CHUNK):
        g, m, v = dw_flat[lo:lo + CHUNK], m_flat[lo:lo + CHUNK], v_flat[lo:lo + CHUNK]
        tmp = scratch[:g.size]
        m *= beta1
        np.multiply(g, 1 - beta1, out=tmp)
        m += tmp
        v *= beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - beta2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += eps_v
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        w_flat[lo:lo + CHUNK] -= tmp
    for array, flat in ((w, w_flat), (config["m"], m_flat), (config["v"], v_flat)):
        if not np.shares_memory(array, flat):                 # not contiguous: flat was a copy
            array[...] = flat.reshape(array.shape)
    return w, config


def format_lr(lr: float) -> str:
    """A learning rate as people write it: 5e-3, 1e-2, 0.1, 2.5e-4."""
    if not is_positive(lr):
        return str(lr)
    if 0.01 <= lr < 1000:
        return f"{lr:g}"
    mantissa, exponent = f"{lr:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}


# --- checking a config before training ------------------------------------------------

POSITIVE = ("learning_rate", "epsilon")                  # must be > 0
FRACTIONS = ("momentum", "decay_rate", "beta1", "beta2")  # must be in [0, 1)
STATE = ("velocity", "cache", "m", "v", "t")              # what the rules keep between steps


def check_config(config: dict) -> None:
    """Raise a ValueError naming any optim_config key that no rule knows, or any
    hyperparameter out of range: learning_rate and epsilon > 0; momentum, decay_rate,
    beta1 and beta2 in [0, 1). The rules themselves do not check, as in the notebook."""
    if not isinstance(config, dict):
        raise ValueError(f"optim_config must be a dict, got {type(config).__name__}")
    unknown = [k for k in config if k not in POSITIVE + FRACTIONS + STATE]
    if unknown:
        raise ValueError(f"Unrecognized optim_config keys {', '.join(map(repr, unknown))}; "
                         f"the hyperparameters are {', '.join(POSITIVE + FRACTIONS)}")
    for name in POSITIVE + FRACTIONS:
        if name not in config:
            continue
        value = config[name]
        ok = is_positive(value) if name in POSITIVE else is_number(value) and 0 <= value < 1
        if not ok:
            wanted = "a positive number" if name in POSITIVE else "in [0, 1)"
            raise ValueError(f"optim_config {name} must be {wanted}, got {value!r}")
