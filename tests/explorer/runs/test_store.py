"""Run folders: atomic JSON, and .jsonl files read incrementally past a torn last line."""
from explorer.runs import store as run_store
from explorer.runs.store import JsonlTail, RunFolder, read_json, scan, write_json


def test_a_jsonl_tail_reads_complete_lines_and_waits_for_a_torn_one(tmp_path):
    path = tmp_path / "history.jsonl"
    tail = JsonlTail(path)
    assert tail.read() == []                                 # no file yet
    path.write_text('{"i": 1}\n{"i": 2}\n{"i": 3, "lo')
    assert tail.read() == [{"i": 1}, {"i": 2}]
    assert tail.read() == []
    with path.open("a") as f:
        f.write('ss": 0.5}\nnot json\n[1, 2]\n{"i": 4}\n')
    assert tail.read() == [{"i": 3, "loss": 0.5}, {"i": 4}]  # corrupt lines are skipped


def test_json_files_are_replaced_whole_and_bad_ones_read_as_missing(tmp_path):
    write_json(tmp_path / "status.json", {"status": "done"})
    assert read_json(tmp_path / "status.json") == {"status": "done"}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]      # no temporary left behind
    (tmp_path / "torn.json").write_text('{"status": "do')
    assert read_json(tmp_path / "torn.json") is None and read_json(tmp_path / "missing.json") is None


def test_scan_finds_run_folders_only(tmp_path):
    RunFolder(tmp_path / "run-a").create({"run_id": "run-a"}, {"status": "queued"})
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / ".run-b.tmp").mkdir()
    folder = scan(tmp_path)[0]
    assert [f.run_id for f in scan(tmp_path)] == ["run-a"] and folder.checkpoint() is None
    assert not folder.stop_requested()
    folder.request_stop()
    assert folder.stop_requested()


def test_a_run_folder_appears_with_its_config_and_status_already_written(tmp_path, monkeypatch):
    """Another server scanning the runs folder meanwhile never finds a half-made run."""
    seen = []
    real_write = run_store.write_json

    def write_and_look(path, value):
        real_write(path, value)
        seen.append([(f.run_id, f.meta(), f.status()) for f in scan(tmp_path / "runs")])

    monkeypatch.setattr(run_store, "write_json", write_and_look)
    RunFolder(tmp_path / "runs" / "run-a").create({"run_id": "run-a"}, {"status": "queued"})
    assert seen == [[], []]                                  # nothing to see while it was written
    assert scan(tmp_path / "runs")[0].meta() == {"run_id": "run-a"}
    assert scan(tmp_path / "runs")[0].status() == {"status": "queued"}
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["run-a"]      # no staging folder left


def test_a_status_message_keeps_its_template_through_status_json(tmp_path):
    from core.text import Message, message
    from explorer.i18n import _, use

    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    why = message("{reason} Its snapshot from iteration {iteration:,} is kept.", iteration=1200,
                  reason=message("Stopped before its first iteration."))
    folder.write_status(status="diverged", message=why)
    record = folder.status()
    assert record["message"] == "Stopped before its first iteration. Its snapshot from iteration 1,200 is kept."
    back = run_store.message_of(record)
    assert isinstance(back, Message) and back == why and back.values["reason"].template == why.values["reason"].template
    try:
        use("zh")
        assert _(back) == _(why) != back                          # translated as if it never left the process
    finally:
        use("en")
    folder.write_status(**{**record, "message": "A plain sentence."})    # a new message drops the old template
    assert run_store.MESSAGE_TEXT not in folder.status()
    assert run_store.message_of({"message": "Edited.", run_store.MESSAGE_TEXT: record[run_store.MESSAGE_TEXT]}) \
        == "Edited." and not isinstance(run_store.message_of({"message": "x", run_store.MESSAGE_TEXT: {}}), Message)
    folder.write_status(status="failed", message=message("The run crashed: {error}", error=float("nan")))
    assert run_store.MESSAGE_TEXT not in folder.status()       # values JSON cannot hold: English only


def test_a_template_read_back_from_a_run_folder_cannot_reach_into_objects_or_ask_for_a_huge_field():
    """A run's folder is written by its worker, where a student's code also runs."""
    from core.text import Message

    for template in ("{a:>999999999}", "{a.__class__.__mro__}", "{a[0]}", "{0}", "{a:{b}}", "x" * 5000):
        record = {"message": "x", run_store.MESSAGE_TEXT: {"template": template, "values": {"a": "s", "b": "9"}}}
        assert run_store.decode_message(record[run_store.MESSAGE_TEXT]) is None, template
        assert run_store.message_of(record) == "x"
    fine = run_store.decode_message({"template": "Stopped at {n:,} of {total:>6}.", "values": {"n": 5, "total": 9}})
    assert isinstance(fine, Message) and fine == "Stopped at 5 of      9."
