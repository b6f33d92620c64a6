"""Reading a folder that untrusted code writes in: no link followed, no FIFO opened, bounded
reads; and the run folder's readers and the student-code reader built on it, attacked as a
student's training run attacked them (a link or a FIFO planted in its own run folder)."""
import os
import threading

import pytest

from core import safe_files
from core.student.source import read_bundle
from explorer.runs.store import LOG, STATUS, STOP, RunFolder, write_json


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "server" / "id_secret"
    path.parent.mkdir()
    path.write_text("TOPSECRET")
    return path


def within(seconds, call):
    """call()'s value, or a failure when it blocks (a FIFO opened for reading waits forever)."""
    box = []

    def run():
        try:
            box.append((call(), None))
        except Exception as e:
            box.append((None, e))
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert box, f"{call} blocked"
    value, error = box[0]
    if error is not None:
        raise error
    return value


def test_readers_refuse_links_and_fifos_and_stop_at_their_limit(tmp_path, secret):
    (tmp_path / "link").symlink_to(secret)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"x" * 1000 + b"END")
    for name in ("link", "fifo"):
        with pytest.raises(safe_files.NotARegularFile):
            within(5, lambda: safe_files.read_bytes(tmp_path / name))
    assert safe_files.read_bytes(tmp_path / "big", 10) == b"x" * 10
    assert safe_files.read_text(tmp_path / "big", 3, tail=True) == "END"
    assert not safe_files.is_file(tmp_path / "link") and safe_files.is_file(tmp_path / "big")
    (tmp_path / "dangling").symlink_to(tmp_path / "created-through-a-link")
    with pytest.raises(OSError):
        safe_files.touch_new(tmp_path / "dangling")
    assert not (tmp_path / "created-through-a-link").exists()


def test_a_walk_never_goes_through_a_link(tmp_path, secret):
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "a.py").write_text("a")
    (root / "sub" / "b.py").write_text("b")
    (root / "leak.py").symlink_to(secret)
    (root / "elsewhere").symlink_to(secret.parent, target_is_directory=True)
    os.mkfifo(root / "sub" / "fifo")
    assert safe_files.walk_files(root) == [("a.py", 1), ("sub/b.py", 1)]
    assert safe_files.read_beneath(root, "sub/b.py") == b"b"
    with pytest.raises(OSError):
        safe_files.read_beneath(root, "elsewhere/id_secret")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(1200):                              # deeper than Python's recursion: measured all the same
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    assert safe_files.disk_bytes(root) >= 1200 * 4096
    assert safe_files.remove_tree(root) and secret.exists()        # (shutil.rmtree recurses) and no link followed


def test_a_run_folder_planted_with_links_and_fifos_gives_the_server_nothing(tmp_path, secret):
    run = RunFolder(tmp_path / "runs" / "20260101-000000-abcdef")
    run.create({"run_id": run.run_id}, {"status": "running"})
    (run / LOG).symlink_to(secret)                                  # the log tail of a crash message
    assert within(5, run.log_tail) == ""
    os.unlink(run / LOG)
    os.mkfifo(run / LOG)
    assert within(5, run.log_tail) == ""
    os.unlink(run / STATUS)
    (run / STATUS).symlink_to(secret)
    assert run.status() is None
    write_json(secret.parent / "status.json", {"status": "done"})
    os.unlink(run / STATUS)
    (run / STATUS).symlink_to(secret.parent / "status.json")    # a status it did not earn
    assert run.status() is None
    (run / STOP).symlink_to(secret.parent / "created-by-root")   # a stop request writes nothing through it
    run.request_stop()
    assert run.stop_requested() and not (secret.parent / "created-by-root").exists()
    (run / "model.h5").symlink_to(secret)
    assert run.checkpoint() is None


def test_a_runs_code_folder_is_read_without_its_links(tmp_path, secret):
    from tests.support.student_corpus import CORRECT
    from core.student import find_bundle
    find_bundle(CORRECT).write(tmp_path / "code")
    (tmp_path / "code" / "cs231n" / "leak.py").symlink_to(secret)
    bundle = read_bundle(tmp_path / "code", "cs231n")
    assert "leak.py" not in bundle.files and "TOPSECRET" not in str(bundle.files)
    assert "rnn_layers.py" in bundle.files


def test_a_run_cannot_choose_the_pictures_the_server_fetches(tmp_path, secret):
    """samples.json is the run's to write: its addresses are ignored, each picture's address
    comes from the run's dataset by index, and a dataset inside the runs folder is not one."""
    from core.data.demo import ensure_demo_dataset
    from explorer.runs.store import trusted_samples
    base = ensure_demo_dataset()
    planted = [{"image_idx": 3, "url": secret.as_uri(), "truth": "a cat"},
               {"image_idx": 10 ** 9, "url": "http://127.0.0.1:9/internal", "truth": "x"}, "junk"]
    kept = trusted_samples(planted, {"base_dir": str(base)}, tmp_path / "runs")
    own = (base / "train2014_urls.txt").read_text().splitlines()[3]
    assert kept[0]["truth"] == "a cat" and own in kept[0]["url"] and str(secret) not in kept[0]["url"]
    assert kept[1]["url"] is None and len(kept) == 2
    inside = tmp_path / "runs" / "run-1" / "data"
    inside.mkdir(parents=True)
    (inside / "train2014_urls.txt").write_text(secret.as_uri() + "\n" * 4)
    assert trusted_samples(planted, {"base_dir": str(inside)}, tmp_path / "runs")[0]["url"] is None


def test_an_image_file_that_is_a_fifo_is_refused_at_once(tmp_path):
    from core.data.images import _Limits, _read_local
    os.mkfifo(tmp_path / "pic.png")
    picture, why = within(5, lambda: _read_local(str(tmp_path / "pic.png"), _Limits(5.0, 1 << 20, 1 << 20)))
    assert picture is None and why == "not a file"


def test_a_runs_code_folder_that_is_a_link_is_not_followed(tmp_path, secret):
    from core.student.source import NotAnAssignment
    from tests.support.student_corpus import CORRECT
    run = tmp_path / "run"
    run.mkdir()
    (run / "code").symlink_to(CORRECT.parent if (CORRECT.parent / "cs231n").is_dir() else CORRECT)
    with pytest.raises((NotAnAssignment, OSError)):
        bundle = read_bundle(run / "code", "cs231n")
        assert not bundle.files, "a linked code/ folder was read"
    with pytest.raises(NotAnAssignment):
        read_bundle(tmp_path, "../etc")
