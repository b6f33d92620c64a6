"""The CS231n captioning notebooks' cells, copied here as the tests' own oracle.

Each entry is a notebook cell's fixed inputs, written as the notebook writes them
(`np.linspace(lo, hi, num=...).reshape(...)`), and the values it prints. The tests check
the layers against these, and `test_notebook.py` checks that `core.notebook` (what the
layer lab and the checker of a student's code run) holds the same numbers; nothing here
is read from the code under test.
"""
import numpy as np


def lin(lo, hi, *shape):
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(*shape)


# rnn_step_forward: N, D, H = 3, 10, 4
RNN_STEP = dict(
    inputs=lambda: (lin(-0.4, 0.7, 3, 10), lin(-0.2, 0.5, 3, 4), lin(-0.1, 0.9, 10, 4),
                    lin(-0.3, 0.7, 4, 4), lin(-0.2, 0.4, 4)),
    next_h=np.asarray([[-0.58172089, -0.50182032, -0.41232771, -0.31410098],
                       [0.66854692, 0.79562378, 0.87755553, 0.92795967],
                       [0.97934501, 0.99144213, 0.99646691, 0.99854353]]))

# rnn_forward: N, T, D, H = 2, 3, 4, 5
RNN = dict(
    inputs=lambda: (lin(-0.1, 0.3, 2, 3, 4), lin(-0.3, 0.1, 2, 5), lin(-0.2, 0.4, 4, 5),
                    lin(-0.4, 0.1, 5, 5), lin(-0.7, 0.1, 5)),
    h=np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]]))

# lstm_step_forward: N, D, H = 3, 4, 5
LSTM_STEP = dict(
    inputs=lambda: (lin(-0.4, 1.2, 3, 4), lin(-0.3, 0.7, 3, 5), lin(-0.4, 0.9, 3, 5),
                    lin(-2.1, 1.3, 4, 20), lin(-0.7, 2.2, 5, 20), lin(0.3, 0.7, 20)),
    next_h=np.asarray([[0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
                       [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
                       [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]]),
    next_c=np.asarray([[0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
                       [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
                       [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]]))

# lstm_forward: N, D, H, T = 2, 5, 4, 3
LSTM = dict(
    inputs=lambda: (lin(-0.4, 0.6, 2, 3, 5), lin(-0.4, 0.8, 2, 4), lin(-0.2, 0.9, 5, 16),
                    lin(-0.3, 0.6, 4, 16), lin(0.2, 0.7, 16)),
    h=np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]]))

# word_embedding_forward: N, T, V, D = 2, 4, 5, 3
WORD_EMBEDDING = dict(
    inputs=lambda: (np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]]), lin(0, 1, 5, 3)),
    out=np.asarray([
        [[0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286], [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857], [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429]]]))

# temporal_softmax_loss on 0.001 * randn scores: N, T, V, the fraction of positions the
# mask keeps, and the range the notebook says the loss falls in ("about 2.3", "about 23",
# "within 2.2-2.4")
SOFTMAX_SANITY = ((100, 1, 10, 1.0, 2.2, 2.4),
                  (100, 10, 10, 1.0, 22.5, 23.5),
                  (5000, 10, 10, 0.1, 2.2, 2.4))

# CaptioningRNN.loss with every parameter np.linspace(-1.4, 1.3): N, D, W, H, T = 10, 20, 30, 40, 13
MODEL_VOCAB = {"<NULL>": 0, "cat": 2, "dog": 3}
MODEL_SIZES = dict(N=10, D=20, W=30, H=40, T=13)
MODEL_FEATURES = {"rnn": (-1.5, 0.3), "lstm": (-0.5, 1.7)}     # np.linspace(lo, hi, num=N * D)
MODEL_LOSS = {"rnn": 9.83235591003, "lstm": 9.82445935443}
