"""The layer lab's equations: each checked layer's forward and backward pass as LaTeX.

One short equation per line, so a block fits half of a 1024-pixel projector.
`EQUATIONS[key]` is a (forward, backward) pair of `aligned` blocks for the keys of
`core.checks.LAYERS`.
"""
from __future__ import annotations


def _aligned(*lines: str) -> str:
    """One block of equations, one per line, aligned at their '&'."""
    return r"\begin{aligned}" + r" \\[2pt] ".join(lines) + r"\end{aligned}"


_SUM = r"\textstyle\sum"
_LSTM_FORWARD = (r"a &= x_t W_x + h_{t-1} W_h + b",
                 r"i &= \sigma(a_i), \ \ f = \sigma(a_f), \ \ o = \sigma(a_o)",
                 r"g &= \tanh(a_g)",
                 r"c_t &= f \odot c_{t-1} + i \odot g",
                 r"h_t &= o \odot \tanh(c_t)")
EQUATIONS = {
    "rnn_step": (
        _aligned(r"h_t &= \tanh(x_t W_x + h_{t-1} W_h + b)"),
        _aligned(r"dz &= dh_t \odot (1 - h_t^2)",
                 r"dx_t &= dz\, W_x^\top, \quad dh_{t-1} = dz\, W_h^\top",
                 r"dW_x &= x_t^\top dz, \quad dW_h = h_{t-1}^\top dz",
                 rf"db &= {_SUM}_n dz")),
    "rnn": (
        _aligned(r"h_t &= \tanh(x_t W_x + h_{t-1} W_h + b)", r"t &= 1, \dots, T"),
        _aligned(r"dh_t &= dh_t^{\,\text{up}} + dz_{t+1} W_h^\top",
                 r"dz_t &= dh_t \odot (1 - h_t^2)",
                 r"dx_t &= dz_t W_x^\top, \quad dh_0 = dz_1 W_h^\top",
                 rf"dW_x &= {_SUM}_t x_t^\top dz_t",
                 rf"dW_h &= {_SUM}_t h_{{t-1}}^\top dz_t",
                 rf"db &= {_SUM}_{{t,n}} dz_t")),
    "lstm_step": (
        _aligned(*_LSTM_FORWARD),
        _aligned(r"dc &= dc_t + dh_t \odot o \odot \tanh'(c_t)",
                 r"da_i &= dc \odot g \odot \sigma'(a_i)",
                 r"da_f &= dc \odot c_{t-1} \odot \sigma'(a_f)",
                 r"da_o &= dh_t \odot \tanh(c_t) \odot \sigma'(a_o)",
                 r"da_g &= dc \odot i \odot (1 - g^2)",
                 r"\sigma' &= \sigma (1 - \sigma)",
                 r"\tanh' &= 1 - \tanh^2",
                 r"dc_{t-1} &= dc \odot f",
                 r"dx_t &= da\, W_x^\top, \quad dh_{t-1} = da\, W_h^\top",
                 r"dW_x &= x_t^\top da, \quad dW_h = h_{t-1}^\top da",
                 rf"db &= {_SUM}_n da")),
    "lstm": (
        _aligned(*_LSTM_FORWARD, r"c_0 &= 0, \quad t = 1, \dots, T"),
        _aligned(r"&\text{the step's backward, } t = T, \dots, 1,",
                 r"&\text{fed with}",
                 r"dh_t &= dh_t^{\,\text{up}} + dh_t^{\,(t+1)}",
                 r"dc_t &= dc_t^{\,(t+1)}",
                 rf"dW &= {_SUM}_t dW^{{(t)}} \quad \text{{for }} W_x, W_h, b")),
    "word_embedding": (
        _aligned(r"\text{out}_{n,t} &= W[\,x_{n,t}\,]"),
        _aligned(r"dW[v] &= \sum_{(n,t)\,:\,x_{n,t} = v} d\text{out}_{n,t}",
                 r"&\texttt{np.add.at(dW, x, dout)}")),
    "temporal_affine": (
        _aligned(r"\text{out}_{n,t} &= x_{n,t}\, w + b"),
        _aligned(r"dx_{n,t} &= d\text{out}_{n,t}\, w^\top",
                 rf"dw &= {_SUM}_{{n,t}} x_{{n,t}}^\top d\text{{out}}_{{n,t}}",
                 rf"db &= {_SUM}_{{n,t}} d\text{{out}}_{{n,t}}")),
    "temporal_softmax_loss": (
        _aligned(r"p_{n,t} &= \mathrm{softmax}(x_{n,t})",
                 r"\mathcal{L} &= -\frac{1}{N} \sum_{n,t} m_{n,t} \log p_{n,t}[\,y_{n,t}\,]"),
        _aligned(r"dx_{n,t} &= \frac{m_{n,t}}{N} \big(p_{n,t} - \mathbb{1}_{y_{n,t}}\big)")),
}
for _cell, _name in (("rnn", "RNN"), ("lstm", "LSTM")):
    EQUATIONS[f"model_{_cell}"] = (
        _aligned(r"h_0 &= f\, W_{proj} + b_{proj}",
                 r"x_t &= W_{embed}[\,y_t\,]",
                 rf"h_{{1..T}} &= \mathrm{{{_name}}}(x_{{1..T}},\, h_0)",
                 r"s_t &= h_t W_{vocab} + b_{vocab}",
                 r"\mathcal{L} &= \text{softmax loss}(s,\ y_{\text{out}},\ m)",
                 r"m &= y_{\text{out}} \neq \texttt{<NULL>}"),
        _aligned(r"&\text{each layer's backward, in reverse,}",
                 r"&\text{down to}",
                 r"dW_{proj} &= f^\top dh_0",
                 rf"db_{{proj}} &= {_SUM}_n dh_0"))
