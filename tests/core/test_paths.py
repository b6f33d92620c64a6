"""core.paths: where Caption Lab keeps its files, from the environment, each resolved once."""
import os

from core import paths


def test_folders_follow_the_environment_and_resolve_links(tmp_path, monkeypatch):
    tmp_path = tmp_path.resolve()
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "link"))
    monkeypatch.delenv(paths.RUNS_ENV_VAR, raising=False)
    assert paths.data_root() == real and paths.runs_dir() == real / "runs"
    monkeypatch.setenv(paths.RUNS_ENV_VAR, str(tmp_path / "elsewhere"))
    assert paths.runs_dir() == tmp_path / "elsewhere"                # a new value is read at once
    monkeypatch.delenv(paths.ENV_VAR)
    assert paths.data_root() == paths.Path.home() / ".cache" / "caption-lab"


def test_a_relative_folder_is_taken_from_the_working_folder_of_the_moment(tmp_path, monkeypatch):
    tmp_path = tmp_path.resolve()
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv(paths.RUNS_ENV_VAR, "runs")
    monkeypatch.chdir(tmp_path / "a")
    assert paths.runs_dir() == tmp_path / "a" / "runs"
    monkeypatch.chdir(tmp_path / "b")
    assert paths.runs_dir() == tmp_path / "b" / "runs"
    assert os.path.isabs(paths.runs_dir())


def test_each_value_is_resolved_once(tmp_path, monkeypatch):
    """Pages ask for these folders many times a rerun; resolving walks the path each time."""
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "once"))
    paths._resolved.cache_clear()
    for _ in range(5):
        paths.data_root()
    info = paths._resolved.cache_info()
    assert info.misses == 1 and info.hits == 4
