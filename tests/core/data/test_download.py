"""The one-step download end to end, against a real HTTP server on 127.0.0.1 serving a
small archive in the course's layout: resume, restart, corrupt archives, HTTP errors,
progress, cancel, disk space, and the `python -m core.data` command line."""
from __future__ import annotations

import threading
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from core.data.__main__ import main
from core.data.coco import check_dataset, load_coco_data
from core.data.download import (URL_ENV_VAR, ArchiveError, DownloadCancelled, DownloadError,
                                DownloadProgress, download_coco)
from tests.support.http_server import (Handler, LoopbackServer, free_port, serve_bytes, serve_cut,
                                       serve_status)
from tests.support.tiny_coco import write_tiny_coco, zip_dataset

pytestmark = pytest.mark.timeout(60)
ROUTE = "/coco_captioning.zip"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_coco(tmp_path_factory.mktemp("source") / "coco_captioning",
                           num_train_images=40, num_val_images=10, fc7_dim=256)


@pytest.fixture(scope="module")
def archive(source: Path) -> bytes:
    return zip_dataset(source, source.parent / "coco_captioning.zip").read_bytes()


def _leftovers(folder: Path) -> list[str]:
    """Files beside a destination other than the dataset and the lock file."""
    return sorted(p.name for p in folder.iterdir() if p.name not in ("coco", ".coco.lock"))


def _ignoring_range(handler: Handler) -> Handler:
    """A server that answers every request whole (200), whatever Range it was sent."""

    def handle(req: BaseHTTPRequestHandler) -> None:
        del req.headers["Range"]
        handler(req)

    return handle


def test_clean_download_gives_the_dataset(tmp_path: Path, source: Path, archive: bytes):
    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        dest = download_coco(tmp_path / "coco", server.url(ROUTE), timeout=5)
    assert dest == tmp_path / "coco"
    for name in ("coco2014_captions.h5", "train2014_vgg16_fc7.h5", "val2014_urls.txt"):
        assert (dest / name).read_bytes() == (source / name).read_bytes()
    assert check_dataset(dest).num_images == {"train": 40, "val": 10}
    assert load_coco_data(dest, pca_features=False)["train_features"].shape == (40, 256)
    assert _leftovers(tmp_path) == []  # no .part, no staging folder


def test_a_valid_destination_is_left_alone_unless_forced(tmp_path: Path, archive: bytes):
    reports: list[DownloadProgress] = []
    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        dest = download_coco(tmp_path / "coco", server.url(ROUTE), timeout=5)
        stamp = dest / "mine.txt"
        stamp.write_text("kept unless forced")
        download_coco(dest, server.url(ROUTE), progress=reports.append, timeout=5)
        assert len(server.requests) == 1 and stamp.exists()
        assert "already holds a valid dataset" in reports[-1].message
        download_coco(dest, server.url(ROUTE), force=True, timeout=5)
        assert len(server.requests) == 2 and not stamp.exists()
    assert check_dataset(dest).vocab_size == 30 and _leftovers(tmp_path) == []


def test_a_cut_off_transfer_is_resumed_with_range(tmp_path: Path, archive: bytes):
    keep = len(archive) // 2
    with LoopbackServer({ROUTE: serve_cut(archive, keep)}) as server:
        with pytest.raises(DownloadError) as caught:
            download_coco(tmp_path / "coco", server.url(ROUTE), timeout=5)
        message = str(caught.value)
        assert "broke off" in message and "run the download again to resume" in message
        part = tmp_path / "coco.zip.part"
        assert part.stat().st_size == keep and not (tmp_path / "coco").exists()

        server.routes[ROUTE] = serve_bytes(archive)
        dest = download_coco(tmp_path / "coco", server.url(ROUTE), timeout=5)
        assert server.requests[-1][2].get("Range") == f"bytes={keep}-"
    assert check_dataset(dest).num_captions == {"train": 120, "val": 30}
    assert _leftovers(tmp_path) == []


def test_a_server_that_ignores_range_restarts_cleanly(tmp_path: Path, archive: bytes):
    part = tmp_path / "coco.zip.part"
    part.write_bytes(b"stale bytes from some other file" * 100)
    with LoopbackServer({ROUTE: _ignoring_range(serve_bytes(archive))}) as server:
        dest = download_coco(tmp_path / "coco", server.url(ROUTE), timeout=5)
        assert server.requests[0][2].get("Range") == "bytes=3200-"
    assert check_dataset(dest).feature_dim == 8 and not part.exists()


def test_a_complete_part_file_is_used_as_it_is(tmp_path: Path, archive: bytes):
    (tmp_path / "coco.zip.part").write_bytes(archive)
    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        dest = download_coco(tmp_path / "coco", server.url(ROUTE), timeout=5)
        assert len(server.requests) == 1  # answered 416: nothing left to send
    assert check_dataset(dest).vocab_size == 30


def _flip_byte_in(archive: Path, member: str) -> bytes:
    """The archive's bytes with one byte flipped in the middle of `member`'s data."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(member)
    header = 30 + len(info.filename.encode()) + len(info.extra)  # the local header's size
    at = info.header_offset + header + info.compress_size // 2
    data = archive.read_bytes()
    return data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1:]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_corrupt_archive_names_the_bad_member(tmp_path: Path, source: Path, compression: int):
    member = "coco_captioning/train2014_vgg16_fc7.h5"
    good = zip_dataset(source, tmp_path / "good.zip", compression=compression)
    with LoopbackServer({ROUTE: serve_bytes(_flip_byte_in(good, member))}) as server:
        with pytest.raises(ArchiveError) as caught:
            download_coco(tmp_path / "out" / "coco", server.url(ROUTE), timeout=5)
    message = str(caught.value)
    assert f"corrupt: member {member}" in message and "The download was deleted" in message
    if compression == zipfile.ZIP_STORED:
        assert "Bad CRC-32" in message
    assert _leftovers(tmp_path / "out") == []  # no dest, no part, no staging folder


def test_an_archive_missing_a_file_is_refused(tmp_path: Path, source: Path):
    lacking = zip_dataset(source, tmp_path / "lacking.zip", skip=("coco2014_vocab.json",))
    with LoopbackServer({ROUTE: serve_bytes(lacking.read_bytes())}) as server:
        with pytest.raises(ArchiveError, match="lacks coco2014_vocab.json: it is not the COCO "
                                               "captioning archive"):
            download_coco(tmp_path / "out" / "coco", server.url(ROUTE), timeout=5)
    assert _leftovers(tmp_path / "out") == []


def test_an_archive_with_unusable_data_is_refused(tmp_path: Path):
    folder = write_tiny_coco(tmp_path / "bad" / "coco_captioning", num_train_images=4)
    (folder / "train2014_urls.txt").write_text("http://x.invalid/0.jpg\n")
    bad = zip_dataset(folder, tmp_path / "bad.zip")
    with LoopbackServer({ROUTE: serve_bytes(bad.read_bytes())}) as server:
        with pytest.raises(ArchiveError, match=r"its data is not usable: train2014_urls.txt: "
                                               r"1 URLs for 4 images") as caught:
            download_coco(tmp_path / "out" / "coco", server.url(ROUTE), timeout=5)
    assert ".extracting" not in str(caught.value) and "--force" not in str(caught.value)
    assert _leftovers(tmp_path / "out") == []


def test_http_errors_and_refused_connections_are_reported(tmp_path: Path):
    with LoopbackServer({}) as server:
        with pytest.raises(DownloadError, match=r"HTTP 404 Not Found from http://127.0.0.1:\d+/x.zip"):
            download_coco(tmp_path / "coco", server.url("/x.zip"), timeout=5)
    port = free_port()
    with pytest.raises(DownloadError, match=f"Could not connect to http://127.0.0.1:{port}/"):
        download_coco(tmp_path / "coco", f"http://127.0.0.1:{port}/x.zip", timeout=5)
    assert _leftovers(tmp_path) == [] and not (tmp_path / "coco").exists()


def test_progress_reports_monotonic_bytes_up_to_the_total(tmp_path: Path, archive: bytes):
    reports: list[DownloadProgress] = []
    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        download_coco(tmp_path / "coco", server.url(ROUTE), progress=reports.append,
                      chunk_size=4096, timeout=5)
    downloads = [r for r in reports if r.stage == "download"]
    assert [r.done for r in downloads] == sorted(r.done for r in downloads)
    assert downloads[-1].done == downloads[-1].total == len(archive)
    assert downloads[-1].fraction == 1.0 and downloads[-1].rate > 0
    assert "Downloading coco_captioning.zip" in downloads[-1].message
    stages = [r.stage for r in reports]
    assert stages.index("download") < stages.index("extract") < stages.index("check")
    assert stages[-1] == "done" and "ready in" in reports[-1].message


def test_cancel_keeps_the_part_and_the_next_call_resumes(tmp_path: Path, archive: bytes):
    cancel = threading.Event()

    def progress(report: DownloadProgress) -> None:
        if report.stage == "download" and report.done > 0:
            cancel.set()

    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        with pytest.raises(DownloadCancelled, match="run the download again to resume"):
            download_coco(tmp_path / "coco", server.url(ROUTE), progress=progress,
                          cancel=cancel, chunk_size=4096, timeout=5)
        kept = (tmp_path / "coco.zip.part").stat().st_size
        assert 0 < kept < len(archive) and not (tmp_path / "coco").exists()
        dest = download_coco(tmp_path / "coco", server.url(ROUTE), timeout=5)
        assert server.requests[-1][2].get("Range") == f"bytes={kept}-"
    assert check_dataset(dest).num_images["val"] == 10


def test_too_little_disk_space_is_refused_before_writing(tmp_path: Path, archive: bytes):
    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        with pytest.raises(DownloadError, match=rf"Not enough disk space in {tmp_path}: the "
                                                r".* MB archive and its extracted files needs"):
            download_coco(tmp_path / "coco", server.url(ROUTE), reserve_bytes=10**18, timeout=5)
    assert _leftovers(tmp_path) == []


def test_url_and_destination_defaults_come_from_the_environment(
        tmp_path: Path, archive: bytes, monkeypatch: pytest.MonkeyPatch):
    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        monkeypatch.setenv("CAPTION_LAB_DATA", str(tmp_path / "root"))
        monkeypatch.setenv(URL_ENV_VAR, server.url(ROUTE))
        dest = download_coco(timeout=5)
        assert server.requests[0][1] == ROUTE
    assert dest == tmp_path / "root" / "coco_captioning" and check_dataset(dest)


def test_a_destination_holding_other_things_is_never_replaced(tmp_path: Path, archive: bytes):
    dest = tmp_path / "coco"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        with pytest.raises(DownloadError, match="exists but is not a usable dataset; pass force"):
            download_coco(dest, server.url(ROUTE), timeout=5)
        with pytest.raises(DownloadError, match="holds other files, not a COCO dataset"):
            download_coco(dest, server.url(ROUTE), force=True, timeout=5)
        assert server.requests == []
    assert (dest / "notes.txt").read_text() == "mine"


def test_a_broken_dataset_is_replaced_with_force(tmp_path: Path, archive: bytes):
    dest = write_tiny_coco(tmp_path / "coco", num_train_images=3)
    (dest / "coco2014_captions.h5").write_bytes(b"not hdf5")
    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        download_coco(dest, server.url(ROUTE), force=True, timeout=5)
    assert check_dataset(dest).num_images["train"] == 40


def test_two_downloads_into_one_folder_exclude_each_other(tmp_path: Path):
    fcntl = pytest.importorskip("fcntl")  # the lock is POSIX-only
    with open(tmp_path / ".coco.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DownloadError, match="Another download into .* is running"):
            download_coco(tmp_path / "coco", "http://127.0.0.1:9/x.zip", timeout=5)


# ---------------------------------------------------------------------------
# The command line


def test_cli_download_then_check(tmp_path: Path, archive: bytes, capsys: pytest.CaptureFixture):
    with LoopbackServer({ROUTE: serve_bytes(archive)}) as server:
        status = main(["download", "--dest", str(tmp_path / "coco"), "--url", server.url(ROUTE)])
    out, err = capsys.readouterr()
    assert status == 0 and "Downloading coco_captioning.zip" in err
    assert "train: 40 images, 120 captions" in out
    assert main(["check", str(tmp_path / "coco"), "--fc7"]) == 0
    assert "features: fc7, 256 dims" in capsys.readouterr().out


def test_cli_reports_errors_as_one_line(tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["check", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: Dataset folder {tmp_path / 'missing'} does not exist")
    assert "Traceback" not in err
    with LoopbackServer({"/gone.zip": serve_status(410, b"gone")}) as server:
        assert main(["download", "--dest", str(tmp_path / "c"), "--url", server.url("/gone.zip")]) == 1
    assert "error: HTTP 410 Gone" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.lock"]
