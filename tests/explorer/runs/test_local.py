"""The Runner with real worker processes on the demo data set and a temporary runs folder.

Configurations are small (H=32) so runs take a second; the "long" one trains for
minutes and exists to be stopped. Waits have generous deadlines and assert nothing
about speed.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core import CaptioningRNN
from core.data.demo import ensure_demo_dataset
from explorer.runs.settings import PRESETS, RunConfig
from explorer.runs.store import FINAL, RunFolder
from explorer.runs.base import Capacity, RunLimitError
from explorer.runs.local import BLAS_THREAD_VARS, ROOT, LocalRunner
from tests.support.waiting import wait_for

SMALL = RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10, snapshot_every=5)   # 20 iterations
LONG = SMALL.replace(hidden_dim=64, num_epochs=10_000)                               # minutes


@pytest.fixture(scope="module")
def dataset():
    return {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}


@pytest.fixture
def make_runner(tmp_path):
    made = []

    def make(**options):
        runner = LocalRunner(tmp_path / "runs", **options)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.shutdown()


# --- a run from start to finish ----------------------------------------------------

def test_a_run_reports_progress_then_finishes_with_a_checkpoint(make_runner, dataset):
    runner = make_runner()
    run_id = runner.start(SMALL, dataset, owner="alice")
    first = runner.get(run_id)
    assert first.status in ("queued", "running") and first.owner == "alice" and first.total == 20
    assert first.label.startswith("RNN H=32 lr 5e-3 · ")

    seen = []
    while (info := runner.get(run_id)).is_active:
        seen.append(info.iteration)
        time.sleep(0.01)
    assert seen == sorted(seen)                             # progress only moves forward
    assert info.status == "done" and info.message is None
    assert info.iteration == info.total == 20
    assert info.final_loss == info.last_loss and np.isfinite(info.final_loss)
    assert info.elapsed > 0 and info.rate > 0 and info.duration > 0
    assert info.dataset == dataset and info.config == SMALL.to_dict()

    history = runner.history(run_id)
    assert history.iterations.tolist() == list(range(1, 21))
    assert history.losses[-1] == info.final_loss
    assert np.all(np.diff(history.elapsed) >= 0)

    evolution = runner.evolution(run_id)
    assert len(evolution.images) == 4 and all(im["truth"] and im["url"] for im in evolution.images)
    assert [i for i, _ in evolution.snapshots] == [0, 5, 10, 15, 20]
    assert all(len(captions) == 4 for _, captions in evolution.snapshots)

    assert info.has_checkpoint and info.checkpoint_iteration == 20
    model, meta = runner.load_model(run_id)
    assert isinstance(model, CaptioningRNN) and model.hidden_dim == 32
    assert meta["run_id"] == run_id and meta["label"] == info.label and meta["iteration"] == 20
    assert meta["config"] == SMALL.to_dict()
    assert meta["dataset"] == {"base_dir": dataset["base_dir"], "pca_features": True, "is_demo": True}
    assert [r.run_id for r in runner.runs()] == [run_id]


def test_invalid_settings_are_refused_before_anything_is_written(make_runner, dataset, tmp_path):
    runner = make_runner()
    with pytest.raises(ValueError, match="batch_size"):
        runner.start(SMALL.replace(batch_size=60), dataset, owner="alice")
    assert runner.runs() == []


# --- reproducibility -----------------------------------------------------------------

NOTEBOOK_CELL = """
import json, sys
import numpy as np
from core import CaptioningRNN, CaptioningSolver, load_coco_data
base_dir, cell, decay = sys.argv[1], sys.argv[2], float(sys.argv[3])
np.random.seed(231)
small_data = load_coco_data(base_dir, max_train=50)
model = CaptioningRNN(cell_type=cell, word_to_idx=small_data["word_to_idx"],
                      input_dim=small_data["train_features"].shape[1], hidden_dim=512, wordvec_dim=256)
solver = CaptioningSolver(model, small_data, update_rule="adam", num_epochs=50, batch_size=25,
                          optim_config={"learning_rate": 5e-3}, lr_decay=decay, verbose=False)
solver.train()
print(json.dumps(solver.loss_history))
"""


@pytest.mark.parametrize("preset, cell, decay", [("Notebook RNN overfit", "rnn", 0.95),
                                                 ("Notebook LSTM overfit", "lstm", 0.995)])
def test_a_preset_gives_the_loss_history_of_the_notebook_cell(make_runner, dataset, preset, cell, decay):
    """Bit for bit, given the same BLAS thread count (float32 sums round by how they are split)."""
    runner = make_runner()
    run_id = runner.start(PRESETS[preset], dataset, owner="alice")
    # meanwhile (each on one core), the notebook's cell, word for word, in a fresh Python with
    # BLAS on one thread like the worker
    env = {**os.environ, **{var: "1" for var in BLAS_THREAD_VARS}}
    cell_run = subprocess.Popen([sys.executable, "-c", NOTEBOOK_CELL, dataset["base_dir"], cell, str(decay)],
                                env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert runner.wait(run_id).status == "done"
    out, err = cell_run.communicate(timeout=600)
    assert cell_run.returncode == 0, err[-2000:]
    assert runner.history(run_id).losses.tolist() == json.loads(out)     # bit for bit


# --- stopping and ownership -----------------------------------------------------------

def test_stop_ends_a_run_between_iterations_and_keeps_what_it_learned(make_runner, dataset):
    runner = make_runner()
    run_id = runner.start(LONG, dataset, owner="alice")
    wait_for(lambda: runner.get(run_id).iteration >= 30, what="30 iterations")
    runner.stop(run_id, owner="alice")
    info = runner.wait(run_id)
    assert info.status == "stopped" and 30 <= info.iteration < info.total
    assert "saved" in info.message
    assert len(runner.history(run_id).losses) == info.iteration
    model, meta = runner.load_model(run_id)
    assert meta["iteration"] == info.iteration and meta["status"] == "stopped"
    assert runner.evolution(run_id).snapshots[-1][0] == info.iteration      # the captions it ended with


def test_a_run_stopped_while_its_worker_loads_says_it_never_trained(make_runner, dataset):
    runner = make_runner()
    run_id = runner.start(LONG, dataset, owner="alice")
    runner.stop(run_id, owner="alice")                      # long before the worker's first iteration
    info = runner.wait(run_id)
    assert info.status == "stopped" and info.iteration == 0
    assert info.message == "Stopped before its first iteration." and not info.has_checkpoint


def test_only_the_owner_can_stop_a_run(make_runner, dataset):
    runner = make_runner()
    run_id = runner.start(LONG, dataset, owner="alice")
    with pytest.raises(PermissionError, match="another session"):
        runner.stop(run_id, owner="bob")
    wait_for(lambda: runner.get(run_id).iteration >= 5, what="the run to go on")
    assert runner.get(run_id).status == "running" and not runner.get(run_id).stopping
    runner.stop(run_id, owner="alice")
    assert runner.wait(run_id).status == "stopped"


def test_a_running_run_offers_its_latest_snapshot(make_runner, dataset):
    runner = make_runner()
    run_id = runner.start(LONG, dataset, owner="alice")
    wait_for(lambda: runner.get(run_id).has_checkpoint, what="a snapshot")
    model, meta = runner.load_model(run_id)
    assert meta["status"] == "running" and meta["iteration"] >= LONG.snapshot_every
    runner.stop(run_id, owner="alice")


def test_load_model_explains_when_there_is_no_checkpoint_yet(make_runner, dataset):
    runner = make_runner(max_concurrent=1)
    blocker = runner.start(LONG, dataset, owner="alice")
    queued = runner.start(SMALL, dataset, owner="alice")
    with pytest.raises(ValueError, match="no checkpoint yet"):
        runner.load_model(queued)
    runner.stop(blocker, owner="alice")


# --- the cap and the queue -------------------------------------------------------------

def test_a_cap_on_concurrent_runs_queues_the_rest_in_order(make_runner, dataset):
    runner = make_runner(max_concurrent=2, max_per_owner=10)
    ids = [runner.start(LONG, dataset, owner=f"student{i}") for i in range(5)]
    infos = [runner.get(i) for i in ids]
    assert [i.status for i in infos] == ["running", "running", "queued", "queued", "queued"]
    assert [i.queue_position for i in infos] == [None, None, 1, 2, 3]
    assert runner.capacity() == Capacity(running=2, queued=3, max_concurrent=2)

    runner.stop(ids[3], owner="student3")                   # leaving the queue
    assert runner.get(ids[3]).status == "stopped" and "never trained" in runner.get(ids[3]).message
    assert not runner.get(ids[3]).has_checkpoint
    assert runner.get(ids[4]).queue_position == 2

    runner.stop(ids[0], owner="student0")                   # a slot frees: the head of the queue starts
    wait_for(lambda: runner.get(ids[2]).status == "running", what="the first queued run to start")
    assert runner.get(ids[4]).queue_position == 1
    assert runner.get(ids[1]).status == "running"
    for i in (1, 2, 4):
        runner.stop(ids[i], owner=f"student{i}")


def test_the_default_cap_is_the_number_of_cores(make_runner, monkeypatch):
    monkeypatch.delenv("CAPTION_LAB_MAX_RUNS", raising=False)
    assert make_runner().max_concurrent == os.cpu_count()
    monkeypatch.setenv("CAPTION_LAB_MAX_RUNS", "3")
    assert make_runner().max_concurrent == 3


def test_a_worker_that_ignores_stop_is_ended_after_a_grace_period(make_runner, dataset):
    runner = make_runner(stop_grace=0.5)
    run_id = runner.start(LONG, dataset, owner="alice")
    wait_for(lambda: runner.get(run_id).iteration >= 3, what="3 iterations")
    pid = RunFolder(runner.runs_dir / run_id).status()["pid"]
    os.kill(pid, signal.SIGSTOP)                            # hung: it will never reach the next iteration
    runner.stop(run_id, owner="alice")
    info = runner.wait(run_id, timeout=30)
    assert info.status == "stopped" and "did not stop within" in info.message


def test_a_run_that_trains_too_long_is_stopped_and_saved(make_runner, dataset, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_MAX_RUN_MINUTES", "0.02")       # 1.2 s
    runner = make_runner()
    info = runner.wait(runner.start(LONG, dataset, owner="alice"), timeout=60)
    assert info.status == "stopped" and "at most 0.02 minutes" in info.message
    assert info.has_checkpoint and 0 < info.iteration < info.total


def test_the_server_wide_queue_is_capped(make_runner, dataset):
    runner = make_runner(max_concurrent=1, max_queued=2)
    for owner in ("a", "b", "c"):                           # one trains, two wait
        runner.start(LONG, dataset, owner=owner)
    with pytest.raises(RunLimitError, match="2 runs waiting"):
        runner.start(LONG, dataset, owner="d")


def test_one_person_cannot_fill_the_queue(make_runner, dataset):
    runner = make_runner(max_concurrent=1, max_per_owner=2)
    runner.start(LONG, dataset, owner="alice")
    runner.start(LONG, dataset, owner="alice")
    with pytest.raises(RunLimitError, match="limit is 2"):
        runner.start(LONG, dataset, owner="alice")
    runner.start(LONG, dataset, owner="bob")                # others still get their turn


# --- persistence --------------------------------------------------------------------------

def test_a_new_runner_on_the_same_folder_finds_saved_runs(make_runner, dataset, tmp_path):
    first = make_runner()
    done = first.wait(first.start(SMALL, dataset, owner="alice")).run_id
    again = first.start(SMALL.replace(cell_type="lstm"), dataset, owner="bob")
    first.wait(again)

    second = make_runner()                                  # a browser refresh or a new server
    assert [r.run_id for r in second.runs()] == [again, done]
    assert second.get(done) == first.get(done)
    np.testing.assert_array_equal(second.history(done).losses, first.history(done).losses)
    assert second.evolution(done) == first.evolution(done)
    model, meta = second.load_model(again)
    assert model.cell_type == "lstm" and meta["run_id"] == again


def test_a_run_whose_server_was_killed_shows_as_interrupted(dataset, tmp_path, make_runner):
    script = (f"import sys, time\nfrom explorer.runs.local import LocalRunner\nfrom explorer.runs.settings import RunConfig\n"
              f"r = LocalRunner(sys.argv[1])\n"
              f"c = RunConfig(hidden_dim=64, wordvec_dim=16, num_epochs=10000, snapshot_every=5)\n"
              f"print(r.start(c, {dataset!r}, owner='alice'), flush=True)\n"
              f"r.start(c, {dataset!r}, owner='alice')\n"
              f"time.sleep(600)\n")
    server = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "runs"), ],
                              env={**os.environ, "CAPTION_LAB_MAX_RUNS": "1"}, cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    running = server.stdout.readline().strip()
    folder = RunFolder(tmp_path / "runs" / running)
    wait_for(lambda: (folder / "snapshot.h5").exists(), what="the first snapshot")
    server.kill()                                          # the server dies without a word
    server.wait()

    runner = make_runner()
    infos = {i.run_id: i for i in runner.runs()}
    queued = next(i for i in infos.values() if i.run_id != running)
    assert queued.status == "interrupted" and "before this run started" in queued.message
    # the worker noticed its server was gone, saved the model and said so
    wait_for(lambda: runner.get(running).status == "interrupted", what="the worker to end")
    info = runner.get(running)
    assert "server stopped" in info.message and info.has_checkpoint
    assert runner.load_model(running)[1]["iteration"] == info.iteration > 0


def test_a_run_left_running_by_a_dead_worker_is_interrupted_not_running_forever(make_runner, dataset):
    runner = make_runner()
    run_id = runner.wait(runner.start(SMALL, dataset, owner="alice")).run_id
    folder = RunFolder(runner.runs_dir / run_id)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    status = folder.status()
    folder.write_status(**{**status, "status": "running", "pid": dead.pid, "final_loss": None})
    (folder / "history.jsonl").open("a").write('{"i": 21, "loss": 1.')    # a torn last line

    info = make_runner().get(run_id)
    assert info.status == "interrupted" and info.iteration == 20
    assert info.final_loss == pytest.approx(runner.history(run_id).losses[-1])
    assert folder.status()["status"] == "interrupted"       # and it is written down


# --- divergence and crashes ---------------------------------------------------------------

@pytest.mark.parametrize("rule, lr, cause", [("adam", 1e20, "NaN or infinite"),
                                             ("sgd", 1e5, "times its starting value")])
def test_divergence_marks_the_run_with_the_iteration_and_the_likely_cause(make_runner, dataset, rule, lr, cause):
    runner = make_runner()
    info = runner.wait(runner.start(SMALL.replace(update_rule=rule, learning_rate=lr), dataset, owner="a"))
    assert info.status == "diverged" and info.diverged_at >= 1
    assert f"iteration {info.diverged_at}" in info.message and cause in info.message
    assert "learning rate" in info.message and "too high" in info.message
    assert info.iteration < info.total
    assert not (runner.runs_dir / info.run_id / FINAL).exists()    # its last weights are garbage


def test_a_diverged_run_keeps_no_snapshot_taken_after_the_loss_went_bad(make_runner, dataset):
    config = SMALL.replace(update_rule="sgd", learning_rate=1e5, snapshot_every=1)
    runner = make_runner()
    info = runner.wait(runner.start(config, dataset, owner="a"))
    assert info.status == "diverged" and info.diverged_at == 2       # iteration 1's update blew up
    assert not info.has_checkpoint and "No sound model was saved" in info.message


def test_an_exception_inside_a_run_is_reported_and_the_runner_goes_on(make_runner, dataset, tmp_path):
    runner = make_runner(max_concurrent=1)
    broken = runner.start(SMALL, {**dataset, "base_dir": str(tmp_path / "no-such-folder")}, owner="a")
    after = runner.start(SMALL, dataset, owner="a")
    info = runner.wait(broken)
    assert info.status == "failed" and "no-such-folder" in info.message
    assert not info.has_checkpoint
    assert "Traceback" in (runner.runs_dir / broken / "worker.log").read_text()
    assert runner.wait(after).status == "done"


def test_a_worker_that_dies_is_reported_and_the_runner_goes_on(make_runner, dataset):
    runner = make_runner(max_concurrent=1)
    victim = runner.start(LONG, dataset, owner="a")
    after = runner.start(SMALL, dataset, owner="a")
    wait_for(lambda: runner.get(victim).iteration >= 3, what="the victim to train")
    pid = RunFolder(runner.runs_dir / victim).status()["pid"]
    if sys.platform == "linux":                             # out of memory, the kernel picks a worker first
        assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "1000"
    os.kill(pid, signal.SIGKILL)
    info = runner.wait(victim)
    assert info.status == "failed" and "killed (signal 9)" in info.message and "out of memory" in info.message
    assert info.iteration >= 3
    assert runner.wait(after).status == "done"


def test_damaged_or_foreign_folders_in_the_runs_folder_are_left_out(make_runner, dataset):
    runner = make_runner()
    good = runner.wait(runner.start(SMALL, dataset, owner="alice")).run_id
    meta = json.loads((runner.runs_dir / good / "config.json").read_text())
    damaged = {"unknown-setting": {**meta, "config": {**meta["config"], "colour": "red"}},
               "not-a-dict": {**meta, "config": "rnn"},
               "bad-value": {**meta, "config": {**meta["config"], "hidden_dim": "big"}},
               "no-dataset": {k: v for k, v in meta.items() if k != "dataset"},
               "a-list": [1, 2]}
    for name, content in damaged.items():
        (runner.runs_dir / name).mkdir()
        (runner.runs_dir / name / "config.json").write_text(json.dumps(content))
    older = {**meta, "config": {k: v for k, v in meta["config"].items() if k != "snapshot_every"}}
    (runner.runs_dir / "older").mkdir()                      # a setting added since: its default
    (runner.runs_dir / "older" / "config.json").write_text(json.dumps(older))

    fresh = make_runner()                                   # a server restart: reads every folder
    assert sorted(r.run_id for r in fresh.runs()) == sorted([good, "older"])
    assert fresh.get("older").config["snapshot_every"] == RunConfig().snapshot_every
    assert fresh.get("older").status == "interrupted"       # it has no status file


def test_two_servers_on_one_runs_folder_see_each_others_runs_live(make_runner, dataset, tmp_path):
    script = (f"import sys\nfrom explorer.runs.local import LocalRunner\nfrom explorer.runs.settings import RunConfig\n"
              f"r = LocalRunner(sys.argv[1])\n"
              f"c = RunConfig(hidden_dim=64, wordvec_dim=16, num_epochs=10000, snapshot_every=5)\n"
              f"for line in sys.stdin:\n"
              f"    print(r.start(c, {dataset!r}, owner='alice'), flush=True)\n")
    here = make_runner()                                    # this server looked before the other started
    assert here.runs() == []
    other = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "runs")], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        other.stdin.write("start\n")
        other.stdin.flush()
        run_id = other.stdout.readline().strip()
        wait_for(lambda: run_id in [r.run_id for r in here.runs()], timeout=10, what="the other's run")
        wait_for(lambda: here.get(run_id).iteration >= 5, what="its progress, read live")
        assert here.get(run_id).status == "running" and here.get(run_id).owner == "alice"
        with pytest.raises(PermissionError):
            here.stop(run_id, owner="bob")
        here.stop(run_id, owner="alice")                    # its owner, on this server
        info = here.wait(run_id)
        assert info.status == "stopped" and info.has_checkpoint
    finally:
        other.stdin.close()
        other.wait(timeout=30)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_failure_while_recording_a_dead_worker_does_not_stall_the_queue(make_runner, dataset, monkeypatch):
    runner = make_runner(max_concurrent=1)
    victim = runner.start(LONG, dataset, owner="a")
    after = runner.start(SMALL, dataset, owner="a")
    wait_for(lambda: runner.get(victim).iteration >= 1, what="the victim to train")
    real_end = runner._end

    def end_fails_for_the_victim(run, status, message):
        if run.run_id == victim:
            raise OSError("disk full")
        real_end(run, status, message)

    monkeypatch.setattr(runner, "_end", end_fails_for_the_victim)
    os.kill(RunFolder(runner.runs_dir / victim).status()["pid"], signal.SIGKILL)
    assert runner.wait(after).status == "done"


# --- runs of a student's own code --------------------------------------------------

def test_a_run_of_student_code_trains_theirs_beside_the_reference(make_runner, dataset, tmp_path):
    from core.student import find_bundle
    from core.student.training import parting_point
    from tests.support.student_corpus import CORRECT, make_bug

    runner = make_runner()
    right = runner.start(SMALL, dataset, "me", code=find_bundle(CORRECT))
    wrong = runner.start(SMALL, dataset, "me", code=find_bundle(make_bug(tmp_path, "rnn_backward_no_carry")))
    plain = runner.start(SMALL, dataset, "me")
    for run_id in (right, wrong, plain):
        assert runner.wait(run_id, timeout=300).status == "done"
    ours, theirs, buggy = (runner.history(r) for r in (plain, right, wrong))
    assert ours.reference is None and theirs.reference is not None
    # the reference beside a student run is exactly a plain run: same seed, weights and minibatches
    assert np.array_equal(theirs.reference, ours.losses) and np.array_equal(buggy.reference, ours.losses)
    assert parting_point(theirs.losses, theirs.reference) is None
    assert parting_point(buggy.losses, buggy.reference) is not None
    assert (Path(runner.runs_dir) / right / "code" / "cs231n" / "rnn_layers.py").is_file()
    model, _ = runner.load_model(right)                  # their weights, as an ordinary checkpoint
    assert set(model.params) == {"W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab", "b_vocab"}
    assert runner.get(right).code["package"] == "cs231n"


def test_student_code_trains_confined_and_its_crash_names_the_line(make_runner, dataset, tmp_path):
    from core.student import find_bundle
    from tests.support.student_corpus import MODEL, Change, make_assignment

    outside = tmp_path / "written-during-training.txt"
    folder = make_assignment(tmp_path, "writes", [Change(MODEL, "        loss, grads = 0.0, {}\n",
                                                        f"        loss, grads = 0.0, {{}}\n"
                                                        f"        open({str(outside)!r}, 'w').write('x')\n")])
    runner = make_runner()
    info = runner.wait(runner.start(SMALL, dataset, "me", code=find_bundle(folder)), timeout=120)
    assert info.status == "failed" and not outside.exists()
    assert "Your code raised PermissionError at cs231n/classifiers/rnn.py" in info.message


# --- slow motion ---------------------------------------------------------------------

def test_slow_motion_paces_a_run_and_leaves_its_numbers_alone(make_runner, dataset):
    """A run in slow motion takes its seconds, spread over its iterations, and learns exactly
    what the same run at full speed learns; a stop still ends it at once."""
    runner = make_runner()
    fast = runner.wait(runner.start(SMALL, dataset, owner="alice"))
    slow_id = runner.start(SMALL.replace(slow_motion=4.0), dataset, owner="alice")
    slow = runner.wait(slow_id)
    assert fast.status == slow.status == "done"
    assert runner.history(slow_id).losses.tolist() == runner.history(fast.run_id).losses.tolist()
    elapsed = runner.history(slow_id).elapsed                       # seconds since iteration 1 began
    assert elapsed[-1] >= 4.0 * 19 / 20 - 0.05                      # the last wait is before iteration 20
    assert elapsed[9] >= 4.0 * 9 / 20 - 0.05                        # spread out, not one wait at the end
    assert runner.get(fast.run_id).config["slow_motion"] == 0.0

    stopped_id = runner.start(SMALL.replace(slow_motion=600.0), dataset, owner="alice")
    wait_for(lambda: runner.get(stopped_id).iteration >= 1, what="the first iteration")
    asked = time.monotonic()
    runner.stop(stopped_id, owner="alice")
    info = runner.wait(stopped_id)
    assert info.status == "stopped" and info.iteration < info.total
    assert time.monotonic() - asked < 10                            # not the 30 s its next iteration was due in


# --- deleting ---------------------------------------------------------------------------

def test_a_deleted_run_leaves_a_note_of_who_deleted_it_for_a_day(make_runner, dataset):
    from explorer.runs.base import DELETIONS, KEEP_DELETIONS

    runner = make_runner()
    run_id = runner.start(SMALL, dataset, owner="alice")
    assert runner.wait(run_id, timeout=120).status == "done"
    wait_for(lambda: not runner.capacity().running, 30, "its worker to exit")
    label = runner.get(run_id).label
    assert runner.deletion(run_id) is None                       # not deleted
    runner.delete(run_id, owner="alice")
    deleted = runner.deletion(run_id)
    assert (deleted.run_id, deleted.label, deleted.owner, deleted.by) == (run_id, label, "alice", "alice")
    assert abs(deleted.when - time.time()) < 60
    notes = runner.runs_dir / DELETIONS
    assert [p.name for p in notes.iterdir()] == [f"{run_id}.json"]     # written atomically: no temporary left
    assert runner.runs() == []                                         # a note is no run

    for hostile in ("../" + run_id, "", ".", f"{run_id}/../{run_id}", None, 7):
        assert runner.deletion(hostile) is None
    (notes / "damaged.json").write_text("{not json")
    (notes / "strange.json").write_text(json.dumps({"label": "x", "owner": "bob", "by": None, "when": "soon"}))
    assert runner.deletion("damaged") is None and runner.deletion("strange") is None

    note = json.loads((notes / f"{run_id}.json").read_text())
    (notes / f"{run_id}.json").write_text(json.dumps({**note, "when": time.time() - KEEP_DELETIONS - 1}))
    os.utime(notes / f"{run_id}.json", (time.time() - KEEP_DELETIONS - 1,) * 2)
    assert runner.deletion(run_id) is None                             # a day later: forgotten
    other = runner.start(SMALL, dataset, owner="bob")
    assert runner.wait(other, timeout=120).status == "done"
    wait_for(lambda: not runner.capacity().running, 30, "its worker to exit")
    runner.delete(other)                                               # the admin
    assert runner.deletion(other).by is None
    assert not (notes / f"{run_id}.json").exists()                     # the old note went with the next deletion
