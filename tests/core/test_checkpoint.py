"""Checkpoints: a round trip through a real HDF5 file, atomic writes, and refusals."""
import os

import h5py
import numpy as np
import pytest

from core import CaptioningRNN, CheckpointError, load_checkpoint, save_checkpoint

from .conftest import make_model


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip(tmp_path, cell, dtype):
    model = make_model(cell, dtype=dtype)
    path = save_checkpoint(tmp_path / "run" / "model.h5", model, metadata={"loss": 1.5, "run": "abc"})
    loaded, metadata = load_checkpoint(path)
    assert metadata == {"loss": 1.5, "run": "abc"}
    assert loaded.config == model.config and loaded.word_to_idx == model.word_to_idx
    for name, value in model.params.items():
        assert loaded.params[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded.params[name], value)
    feats = np.random.default_rng(0).standard_normal((4, model.input_dim))
    np.testing.assert_array_equal(loaded.sample(feats, 8), model.sample(feats, 8))
    assert [p.name for p in path.parent.iterdir()] == ["model.h5"]     # no temp files left


def test_a_failed_write_leaves_the_old_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "model.h5", make_model())
    before = path.read_bytes()
    broken = make_model()
    broken.params["Wx"] = object()                 # h5py cannot store this
    with pytest.raises(Exception):
        save_checkpoint(path, broken)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.h5"]


def _corrupt(path, edit):
    with h5py.File(path, "r+") as f:
        edit(f)


@pytest.mark.parametrize("edit, match", [
    (lambda f: f.attrs.__setitem__("format", "other"), "not a Caption Lab checkpoint"),
    (lambda f: f.attrs.__setitem__("version", 99), "version"),
    (lambda f: f["params"].__delitem__("Wh"), "missing \\['Wh'\\]"),
    (lambda f: (f["params"].__delitem__("b"), f["params"].create_dataset("b", data=np.zeros(3, np.float32))), "shape"),
    (lambda f: (f["params"].__delitem__("b"), f["params"].create_dataset("b", data=np.zeros(16, np.int32))), "dtype"),
    (lambda f: f["params"]["b_vocab"].__setitem__(0, np.nan), "NaN"),
    (lambda f: f.attrs.__setitem__("config", '{"cell_type": "gru"}'), "invalid configuration"),
    (lambda f: f.attrs.__setitem__("config", '["rnn"]'), "invalid configuration"),
    (lambda f: f.attrs.__setitem__("config", f.attrs["config"].replace('"hidden_dim": 16', '"hidden_dim": "16"')),
     "invalid configuration: hidden_dim"),
    # a damaged size is refused by the parameters' shapes, before a model that big is built
    (lambda f: f.attrs.__setitem__("config", f.attrs["config"].replace('"hidden_dim": 16', '"hidden_dim": 10000000')),
     r"W_proj has shape \(10, 16\), expected \(10, 10000000\)"),
    (lambda f: f.attrs.__setitem__("config", "{not json"), "corrupt or truncated"),
    (lambda f: f.attrs.__setitem__("metadata", "[1, 2]"), "malformed metadata"),
])
def test_bad_contents_are_refused(tmp_path, edit, match):
    path = save_checkpoint(tmp_path / "model.h5", make_model("rnn"))
    _corrupt(path, edit)
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_a_vocabulary_with_gaps_is_refused_when_saving(tmp_path):
    model = CaptioningRNN({"<NULL>": 0, "cat": 2, "dog": 3}, input_dim=4, wordvec_dim=3, hidden_dim=5,
                          rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="word ids are not 0..2"):
        save_checkpoint(tmp_path / "model.h5", model)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_missing_files_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "model.h5", make_model("lstm"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n" + os.urandom(4000))
    with pytest.raises(CheckpointError, match="garbage.h5"):
        load_checkpoint(garbage)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.h5")


def _tampered(tmp_path, change):
    """A real checkpoint with its W_embed replaced by `change(params group, shape, dtype)`."""
    model = CaptioningRNN({"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3}, input_dim=4, wordvec_dim=3,
                          hidden_dim=5, rng=np.random.default_rng(0))
    path = save_checkpoint(tmp_path / "model.h5", model)
    with h5py.File(path, "a") as f:
        shape, dtype = f["params/W_embed"].shape, f["params/W_embed"].dtype
        del f["params/W_embed"]
        change(f["params"], shape, dtype)
    return path


def test_a_checkpoint_cannot_make_the_reader_open_another_file(tmp_path):
    """A run's checkpoint is written by the student's code: HDF5's external storage, soft
    and external links, and a compressed bomb are refused before any number is read."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(12, dtype=np.float32).tobytes())
    cases = {
        "external storage": lambda g, shape, dtype: g.create_dataset(
            "W_embed", shape, dtype, external=[(str(secret), 0, secret.stat().st_size)]),
        "external link": lambda g, shape, dtype: g.__setitem__("W_embed", h5py.ExternalLink(str(secret), "/x")),
        "soft link": lambda g, shape, dtype: g.__setitem__("W_embed", h5py.SoftLink("/params/Wx")),
        "bomb": lambda g, shape, dtype: g.create_dataset("W_embed", (25_000, 4_000), dtype, compression="gzip"),
    }
    for case, change in cases.items():
        folder = tmp_path / case.replace(" ", "-")
        folder.mkdir()
        path = _tampered(folder, change)
        assert path.stat().st_size < 1 << 20, case
        for follow_links in (True, False):
            with pytest.raises(CheckpointError) as refused:
                load_checkpoint(path, follow_links=follow_links)
            assert str(path) in str(refused.value), case
    (tmp_path / "link.h5").symlink_to(path)
    with pytest.raises(CheckpointError, match="symbolic link"):
        load_checkpoint(tmp_path / "link.h5", follow_links=False)
