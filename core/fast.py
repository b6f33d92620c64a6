"""The training step's fast path: `CaptioningRNN.loss` and Adam with fused elementwise loops.

`core.layers` and `core.optim` are the reference a student reads; this module computes the
same numbers for float32 training (to float32 rounding) and is tested against them
(tests/core/test_fast.py). The matrix products are numpy's, as in the layers; what changes:

- the elementwise work of each timestep (gates, cell, tanh, their derivatives) is one
  loop compiled by numba instead of a dozen numpy passes, with tanh from a rational
  approximation accurate to about 3e-7 (Eigen's), so that the loop vectorizes;
- every array is kept position by position, (T, N, features), so that each loop runs along
  a contiguous row of H or 4H features (the LSTM's gates one loop, its cell another, so
  that each vectorizes), and the backward's gradient at the pre-activations is packed step
  after step, so the weight gradients' products read every position as one
  (positions, features) matrix;
- the input projection, its weight gradient and the embedding's gradient are computed once
  per distinct word of the batch, not once per position;
- the captions run longest first, and each step takes only those with a word still to
  predict (the positions after a caption's last one change no loss and get a zero
  gradient in the reference);
- Adam is one loop over each parameter instead of twelve passes, and the solver's check
  that no gradient holds a NaN or an infinity one loop over each (`all_finite`).

The same batch gives the same bits in any process: no loop sums with a vectorized,
reassociated reduction, whose split LLVM may make depend on where an array lies in memory
(`_row_sum`), as a run and the notebook's cell, run by hand, agree bit for bit.

Only float32 models take this path (`takes`); float64 (gradient checks) and any model
when numba is missing run the reference layers. The compiled loops are cached on disk
(numba's cache, next to this file), so a process after the first loads them in
milliseconds; `python -m core.fast` compiles them ahead, as `make setup` does.

Dimension letters: N batch, T time, W word vector, H hidden, V vocabulary; G is H for the
vanilla RNN and 4H for the LSTM (its gates i, f, o, g stacked).
"""
from __future__ import annotations

import numpy as np


try:
    import numba
except ImportError:                 # the reference layers still work, only slower
    numba = None

F32 = np.float32


# Fast-math without the no-NaN and no-infinity promises: a diverging run's NaN must reach
# the loss, where the solver sees it, rather than be optimized into a finite number
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def _jit(fn):
    """Compile a loop for float32: vectorized, no Python division checks, cached on disk."""
    return numba.njit(fastmath=FASTMATH, error_model="numpy", cache=True)(fn) if numba else fn


def _inline(fn):
    return numba.njit(fastmath=FASTMATH, error_model="numpy", inline="always")(fn) if numba else fn


if numba:
    from llvmlite import ir
    from numba.extending import intrinsic

    @intrinsic
    def _bits_to_float(typingctx, bits):
        """The float32 whose bits are the int32 `bits` (an LLVM bitcast, so loops vectorize)."""
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.FloatType())
        return numba.types.float32(numba.types.int32), codegen


# --- the compiled loops ------------------------------------------------------------

TANH_CLAMP = F32(7.90531110763549805)   # beyond it the rational form is +-1 to float32


@_inline
def _tanh(v):
    """tanh(v) for float32 from a 13/6 rational approximation (Eigen's), max error ~3e-7."""
    v = TANH_CLAMP if v > TANH_CLAMP else v
    v = -TANH_CLAMP if v < -TANH_CLAMP else v
    v2 = v * v
    p = v2 * F32(-2.76076847742355e-16) + F32(2.00018790482477e-13)
    p = v2 * p + F32(-8.60467152213735e-11)
    p = v2 * p + F32(5.12229709037114e-08)
    p = v2 * p + F32(1.48572235717979e-05)
    p = v2 * p + F32(6.37261928875436e-04)
    p = v2 * p + F32(4.89352455891786e-03)
    q = v2 * F32(1.19825839466702e-06) + F32(1.18534705686654e-04)
    q = v2 * q + F32(2.26843463243900e-03)
    q = v2 * q + F32(4.89352518554385e-03)
    return v * p / q


@_inline
def _exp_neg(x):
    """e^x for float32 x <= 0 (Cephes' expf: 2^k e^r, a degree-7 polynomial), max relative
    error ~3e-7; below -87 it gives e^-87, as good as 0 beside the 1 a softmax row holds."""
    x = F32(-87.0) if x < F32(-87.0) else x
    k = np.floor(x * F32(1.44269504088896341) + F32(0.5))
    r = x - k * F32(0.693359375) - k * F32(-2.12194440e-4)
    p = F32(1.9875691500e-4)
    p = p * r + F32(1.3981999507e-3)
    p = p * r + F32(8.3334519073e-3)
    p = p * r + F32(4.1665795894e-2)
    p = p * r + F32(1.6666665459e-1)
    p = p * r + F32(5.0000001201e-1)
    e = p * r * r + r + F32(1)
    return e * _bits_to_float((np.int32(k) + np.int32(127)) << np.int32(23))


@_inline
def _sigmoid(v):
    return F32(0.5) * _tanh(F32(0.5) * v) + F32(0.5)


def _strict(fn):
    """Compile a helper without fast-math, said outright (a helper left unsaid takes its
    caller's): its sums run in the order written (see `_row_sum`). Only the loops call it,
    and their cached code holds its own, so it has no cache of its own."""
    return numba.njit(fastmath=False, error_model="numpy")(fn) if numba else fn


@_strict
def _row_sum(a, row, start, count):
    """a[row, start:start + count].sum() in an order fixed by `count` alone: eight running
    sums over the columns' positions modulo 8 (so that it still vectorizes), those eight
    pairwise, then the rest left to right. The softmax's sums go through it rather than sum
    as they go: how LLVM splits a reassociated sum inside a vectorized loop depends on where
    the arrays lie in memory, so the same batch's numbers differed in their last bits from
    one process to another (and from the notebook's cell run by hand, which the tests hold
    to the same bits). (The bias gradients are numpy's sums of the per-word sums.)"""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = F32(0)
    end = start + count - count % 8
    for n in range(start, end, 8):
        s0 += a[row, n]
        s1 += a[row, n + 1]
        s2 += a[row, n + 2]
        s3 += a[row, n + 3]
        s4 += a[row, n + 4]
        s5 += a[row, n + 5]
        s6 += a[row, n + 6]
        s7 += a[row, n + 7]
    total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for n in range(end, start + count):
        total += a[row, n]
    return total


@_jit
def _rnn_step(z, xw, cols, b, t, nt, hs):
    """hs[t+1, n] = tanh(z[n] + xw[cols[t, n]] + b) for the first nt sequences:
    z (N, H) = h_{t-1} Wh; xw (U, H) = x Wx of each distinct word; cols (T, N) the word of
    every position, as a row of xw; hs (T+1, N, H)."""
    H = z.shape[1]
    for n in range(nt):
        zn, x, h = z[n], xw[cols[t, n]], hs[t + 1, n]
        for j in range(H):
            h[j] = _tanh(zn[j] + x[j] + b[j])


@_jit
def _rnn_step_back(dh, dnext, hs, t, nt, dz, at):
    """dz[at + n] = (dh[t, n] + dnext[n]) * (1 - h_t^2) for the first nt sequences:
    dh (T, N, H), dnext (N, H) = dz Wh^T of step t+1, dz (P, H) packed (step t's rows from
    `at`)."""
    H = dz.shape[1]
    for n in range(nt):
        h, up, down, out = hs[t + 1, n], dh[t, n], dnext[n], dz[at + n]
        for j in range(H):
            out[j] = (up[j] + down[j]) * (F32(1) - h[j] * h[j])


@_jit
def _lstm_step(z, xw, cols, b, t, nt, prev_c, gates, c, tanh_c, hs):
    """One LSTM step's elementwise work, for the first nt sequences. z (N, 4H) = h_{t-1} Wh;
    xw (U, 4H) = x Wx of each distinct word, cols (T, N) the word of every position as a row
    of xw; prev_c (N, H) = c_{t-1}. Writes the activations `gates` (N, 4H), `c` and
    `tanh_c` (N, H), and h_t to hs[t+1] (T+1, N, H). The gates and the cell are two loops
    over each row: one loop doing both does not vectorize (and ran four times slower)."""
    H = c.shape[1]
    for n in range(nt):
        zn, x, a = z[n], xw[cols[t, n]], gates[n]
        for j in range(3 * H):                       # i, f, o
            a[j] = _sigmoid(zn[j] + x[j] + b[j])
        for j in range(3 * H, 4 * H):                # g
            a[j] = _tanh(zn[j] + x[j] + b[j])
        pc, cn, tc, h = prev_c[n], c[n], tanh_c[n], hs[t + 1, n]
        for j in range(H):
            cv = a[j] * a[3 * H + j] + a[H + j] * pc[j]
            tv = _tanh(cv)
            cn[j] = cv
            tc[j] = tv
            h[j] = a[2 * H + j] * tv


@_jit
def _lstm_step_back(dh, dnext, dc, gates, prev_c, tanh_c, t, nt, da, at):
    """One LSTM step's backward elementwise work, for the first nt sequences: dh (T, N, H)
    upstream, dnext (N, H) = da Wh^T of step t+1, dc (N, H) the gradient on c_t from step
    t+1, updated in place to c_{t-1}'s; gates (N, 4H), prev_c and tanh_c (N, H) as
    `_lstm_step` read and wrote them. Writes da[at + n] (da (P, 4H) packed: step t's rows
    from `at`), the gradient at the pre-activations."""
    H = dc.shape[1]
    for n in range(nt):
        a, pc, tc, up, down, dcn, out = gates[n], prev_c[n], tanh_c[n], dh[t, n], dnext[n], dc[n], da[at + n]
        for j in range(H):
            i, f, o, g = a[j], a[H + j], a[2 * H + j], a[3 * H + j]
            tv = tc[j]
            dhv = up[j] + down[j]
            dcv = dhv * o * (F32(1) - tv * tv) + dcn[j]
            out[j] = dcv * g * i * (F32(1) - i)
            out[H + j] = dcv * pc[j] * f * (F32(1) - f)
            out[2 * H + j] = dhv * tv * o * (F32(1) - o)
            out[3 * H + j] = dcv * i * (F32(1) - g * g)
            dcn[j] = dcv * f


@_jit
def _softmax_loss(scores, bias, targets, scale, dbias):
    """The softmax loss of rows `scores` + `bias` ((K, V) + (V,)) with true classes
    `targets` (K,), times `scale`; turns `scores` into the gradient at them in place (also
    times `scale`) and writes its sum over the rows to dbias (V,), the bias gradient."""
    K, V = scores.shape
    total = 0.0
    dbias[:] = 0
    for r in range(K):
        for v in range(V):
            scores[r, v] += bias[v]
        top = scores[r, 0]
        for v in range(1, V):
            top = max(top, scores[r, v])
        true = scores[r, targets[r]] - top
        for v in range(V):
            scores[r, v] = _exp_neg(scores[r, v] - top)
        total_e = _row_sum(scores, r, 0, V)
        total -= true - np.log(total_e)                 # -log p(true)
        weight = scale / total_e
        for v in range(V):
            scores[r, v] *= weight
        scores[r, targets[r]] -= scale
        for v in range(V):
            dbias[v] += scores[r, v]
    return total * scale


@_jit
def _sum_by_word(da, cols, out):
    """out[u] = the sum of da's rows p whose word is u (cols[p] == u), added in the rows'
    order: da (P, G), cols (P,), out (U, G)."""
    P, G = da.shape
    out[:] = 0
    for p in range(P):
        row, src = out[cols[p]], da[p]
        for j in range(G):
            row[j] += src[j]


@_jit
def _adam(w, dw, m, v, beta1, beta2, step_size, eps):
    """Adam's update of flat float32 arrays in place, in one pass. beta1 and beta2 are
    (beta, 1 - beta) pairs, each rounded to float32 from float64: 1 - float32(0.999) is
    1.3e-5 away from float32(0.001)."""
    b1, c1 = beta1
    b2, c2 = beta2
    for k in range(w.shape[0]):
        g = dw[k]
        mk = b1 * m[k] + c1 * g
        vk = b2 * v[k] + c2 * (g * g)
        m[k] = mk
        v[k] = vk
        w[k] -= step_size * mk / (np.sqrt(vk) + eps)


@_jit
def _finite(a):
    """Whether every entry of the flat float32 array `a` is finite: a NaN or an infinity
    times 0 is NaN, which the sum keeps (fast-math here promises neither away)."""
    total = F32(0)
    for k in range(a.shape[0]):
        total += a[k] * F32(0)
    return total == 0


# --- the loss ----------------------------------------------------------------------

def takes(params) -> bool:
    """Whether `loss` can take these parameters: numba installed, every one a float32 array."""
    return numba is not None and all(isinstance(w, np.ndarray) and w.dtype == F32 for w in params.values())


def loss(params, features, captions, cell_type, null_id):
    """`CaptioningRNN.loss` for float32 parameters (see `takes`): the same loss and gradients
    to float32 rounding, computed position by position with the compiled loops.

    params: the model's dict (W_embed, W_proj, b_proj, Wx, Wh, b, W_vocab, b_vocab);
    features (N, D) float32; captions (N, T+1) ids starting with <START>; cell_type "rnn"
    or "lstm"; null_id, the padding id whose targets add nothing.

    Two savings the reference does not make, neither changing a number beyond rounding:
    - per distinct word: the input projection, its weight gradient and the embedding's
      gradient are computed once per word the batch holds (a padded batch of 25 captions
      holds about 60 words in its 400 positions), not once per position;
    - per sequence length: the sequences run longest first, and each step's products and
      loops take only those that still have a word to predict (the positions after a
      caption's last one change no loss and get a zero gradient in the reference).
    """
    p = params
    captions = np.asarray(captions)
    N, T = captions.shape[0], captions.shape[1] - 1
    if len(features) != N:                       # the rows are reordered below, which would hide it
        raise ValueError(f"{len(features)} feature rows for {N} captions")
    H = p["Wh"].shape[0]
    lstm = cell_type == "lstm"
    G = 4 * H if lstm else H
    V = p["W_embed"].shape[0]
    # ids in 0..V-1 as numpy indexes them (negative from the end, others an IndexError), for
    # the compiled loops do not check their indices
    inputs, outputs = np.arange(V)[captions[:, :-1]], np.arange(V)[captions[:, 1:]]    # (N, T)
    counts = captions[:, 1:] != null_id            # as the reference's mask: by the ids as given
    lengths = np.where(counts.any(axis=1), T - np.argmax(counts[:, ::-1], axis=1), 0)  # to the last target
    order = np.argsort(-lengths, kind="stable")                           # the longest first
    active = np.count_nonzero(lengths[None, :] > np.arange(T)[:, None], axis=1)         # (T,) sequences at t
    steps = int(np.count_nonzero(active))                                 # the steps any sequence reaches
    features = features[order]
    ids = inputs[order].T.reshape(-1)                                     # (T*N,) position t*N + n
    targets = outputs[order].T.reshape(-1)
    kept = np.flatnonzero(counts[order].T.reshape(-1))                    # the positions that count
    words, cols = np.unique(ids, return_inverse=True)                     # position p holds words[cols[p]]
    cols = cols.reshape(T, N)

    # forward: h0 from the image, the input projection of every distinct word, the time loop
    h0 = features @ p["W_proj"] + p["b_proj"]                             # (N, H)
    x_words = p["W_embed"][words]                                         # (U, W)
    xw = x_words @ p["Wx"]                                                # (U, G), bias added per step
    hs = np.zeros((T + 1, N, H), F32)                                     # hs[t+1] = h_t, h0 first
    hs[0] = h0                                                            # (left zero after a caption's end)
    Wh = p["Wh"]
    z = np.empty((N, G), F32)
    if lstm:
        gates = np.empty((T, N, G), F32)
        cs, tanh_cs = np.empty((T + 1, N, H), F32), np.empty((T, N, H), F32)
        cs[0] = 0                                                         # cs[t+1] = c_t
        for t in range(steps):
            nt = active[t]
            np.matmul(hs[t, :nt], Wh, out=z[:nt])
            _lstm_step(z, xw, cols, p["b"], t, nt, cs[t], gates[t], cs[t + 1], tanh_cs[t], hs)
    else:
        for t in range(steps):
            nt = active[t]
            np.matmul(hs[t, :nt], Wh, out=z[:nt])
            _rnn_step(z, xw, cols, p["b"], t, nt, hs)

    # the vocabulary layer and the loss, on the kept positions only (as the model does)
    h_rows = hs[1:].reshape(T * N, H)                                     # (T*N, H), a view
    K = kept.size
    h_kept = h_rows if K == T * N else h_rows[kept]                       # (K, H)
    scores = h_kept @ p["W_vocab"]                                        # (K, V), bias added in the loop
    dscores = scores                                                      # the gradient, in place
    grads = {"b_vocab": np.empty(V, F32)}
    loss_value = float(_softmax_loss(dscores, p["b_vocab"], targets[kept], F32(1 / N), grads["b_vocab"]))
    grads["W_vocab"] = h_kept.T @ dscores                                 # summed over positions, / N
    dh_kept = dscores @ p["W_vocab"].T                                    # (K, H)
    if K == T * N:
        dh = dh_kept.reshape(T, N, H)
    else:
        dh = np.zeros((T * N, H), F32)
        dh[kept] = dh_kept
        dh = dh.reshape(T, N, H)

    # backward through time, the gradient at the pre-activations packed: step t's active
    # rows from at[t] (the positions after a caption's end, left out, would be zero)
    WhT = Wh.T                                                            # a view: BLAS reads it transposed
    at = np.concatenate([[0], np.cumsum(active[:steps])])
    da = np.empty((at[-1], G), F32)
    # dnext (N, H) = da Wh^T of step t+1, laid out column after column: BLAS makes the
    # product faster that way round (0.43 against 0.50 ms a call at the notebook's shape on
    # an AMD EPYC), though the loops then read its rows strided
    dnext = np.zeros((H, N), F32).T
    if lstm:
        dc = np.zeros((N, H), F32)
        for t in range(steps - 1, -1, -1):
            nt = active[t]
            _lstm_step_back(dh, dnext, dc, gates[t], cs[t], tanh_cs[t], t, nt, da, at[t])
            np.matmul(da[at[t]:at[t + 1]], WhT, out=dnext[:nt])
    else:
        for t in range(steps - 1, -1, -1):
            nt = active[t]
            _rnn_step_back(dh, dnext, hs, t, nt, da, at[t])
            np.matmul(da[at[t]:at[t + 1]], WhT, out=dnext[:nt])
    if at[-1] == T * N:                                                   # every position ran: views
        h_prev, word_of = hs[:T].reshape(T * N, H), cols.reshape(-1)
    else:                                                                 # the positions da holds, in its order
        ran = np.arange(N) < active[:, None]                              # (T, N)
        h_prev, word_of = hs[:T][ran], cols[ran]
    grads["Wh"] = h_prev.T @ da                                           # h_{t-1} of every position
    da_words = np.empty((words.size, G), F32)                             # summed per distinct word
    _sum_by_word(da, word_of, da_words)
    grads["b"] = da_words.sum(axis=0)                                     # every position's, by way of its word
    grads["Wx"] = x_words.T @ da_words
    grads["W_embed"] = np.zeros_like(p["W_embed"])
    grads["W_embed"][words] = da_words @ p["Wx"].T                        # (U, W): each word's row once
    dh0 = dnext                                                           # (N, H)
    grads["W_proj"] = features.T @ dh0
    grads["b_proj"] = dh0.sum(axis=0)
    return loss_value, grads


# --- Adam --------------------------------------------------------------------------

def adam(w, dw, config=None):
    """`core.optim.adam` in one compiled pass, for float32 weights whose gradient and
    moments are float32 arrays of the same shape, all C-contiguous (any other call goes to
    `optim.adam`). The same update to float32 rounding."""
    from . import optim
    arrays = [a for a in (w, dw, (config or {}).get("m"), (config or {}).get("v")) if a is not None]
    if not (numba is not None and all(isinstance(a, np.ndarray) and a.dtype == F32 and a.shape == w.shape
                                    and a.flags.c_contiguous for a in arrays)):
        return optim.adam(w, dw, config)
    config = optim.adam_defaults(config, w)
    t = config["t"]
    beta1, beta2 = config["beta1"], config["beta2"]
    root_c2 = (1 - beta2 ** t) ** 0.5                # as optim.adam: the bias corrections folded in
    step_size = config["learning_rate"] * root_c2 / (1 - beta1 ** t)
    _adam(w.reshape(-1), dw.reshape(-1), config["m"].reshape(-1), config["v"].reshape(-1),
          (F32(beta1), F32(1 - beta1)), (F32(beta2), F32(1 - beta2)), F32(step_size),
          F32(config["epsilon"] * root_c2))
    return w, config


def all_finite(arrays) -> bool:
    """Whether every entry of every array is finite: a compiled pass over each float32 array,
    `np.isfinite(a.sum())` for any other. The pass takes 0.56 ms for an LSTM iteration's
    gradients at the notebook's shape where numpy's sums take 0.86 (AMD EPYC), and a float32
    sum can overflow where every entry is finite, which the pass does not take for an infinity."""
    for a in arrays:
        if numba is not None and a.dtype == F32 and a.flags.c_contiguous:
            if not _finite(a.reshape(-1)):
                return False
        elif not np.isfinite(a.sum()):
            return False
    return True


def compile_all() -> None:
    """Run every compiled loop once on tiny inputs of the types training uses, so numba
    compiles them, or loads them from its cache (a few hundredths of a second). Caption
    Lab's training worker calls it before it walls a student's run in, as the walls hide
    the cache; `make setup` calls it (as `python -m core.fast`) to fill the cache."""
    if numba is None:
        return
    rng = np.random.default_rng(0)
    V, D, W, H = 4, 3, 2, 4
    captions = np.array([[1, 3, 3, 2, 0], [1, 3, 2, 0, 0]])
    for G in (H, 4 * H):                                 # rnn, lstm
        shapes = {"W_embed": (V, W), "W_proj": (D, H), "b_proj": (H,), "Wx": (W, G), "Wh": (H, G),
                  "b": (G,), "W_vocab": (H, V), "b_vocab": (V,)}
        params = {k: rng.standard_normal(shape).astype(F32) for k, shape in shapes.items()}
        # two captions, and one: `dnext` (N, H) is laid out column after column, which numba
        # types otherwise when a single row (or a single unit) makes it C-contiguous as well
        for rows in (captions, captions[:1]):
            _, grads = loss(params, rng.standard_normal((len(rows), D)).astype(F32), rows,
                            "lstm" if G > H else "rnn", null_id=0)
        for name, w in params.items():
            adam(w, grads[name], {})
        all_finite(grads.values())


if __name__ == "__main__":
    import time
    start = time.perf_counter()
    if numba is None:
        raise SystemExit("numba is not installed: the reference layers will be used")
    compile_all()
    print(f"core.fast: compiled loops ready in {time.perf_counter() - start:.1f} s")
