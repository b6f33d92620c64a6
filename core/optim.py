"""First-order update rules with the CS231n contract `rule(w, dw, config) -> (next_w, config)`.

`config` holds the hyperparameters and the rule's state (velocity, moments, step count);
a missing entry takes the notebook's default. For speed the rules update `w` and their
state in place and return `w` itself as `next_w`, so keep a copy if you need the old
weights.
"""
from __future__ import annotations

import numpy as np


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


def adam(w, dw, config=None):
    """Adam with bias correction; the step count t is incremented before it is used.

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v, t.
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    if config.get("m") is None:
        config["m"] = np.zeros_like(w)
    if config.get("v") is None:
        config["v"] = np.zeros_like(w)
    beta1, beta2, m, v = config["beta1"], config["beta2"], config["m"], config["v"]
    config["t"] += 1
    t = config["t"]
    m *= beta1
    m += (1 - beta1) * dw
    v *= beta2
    v += (1 - beta2) * (dw * dw)
    denom = v / (1 - beta2 ** t)              # v_hat
    np.sqrt(denom, out=denom)
    denom += config["epsilon"]
    step = m / denom                          # m / (sqrt(v_hat) + eps), before m's correction
    step *= config["learning_rate"] / (1 - beta1 ** t)
    w -= step
    return w, config


RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
