"""A class's Caption Lab on one machine: Redis, N app servers, M RQ workers and nginx in front.

    python -m deploy.cluster --servers 2 --workers 2 --port 8500

starts `redis-server` (or uses `--redis-url`), N app servers (`python -m explorer.serve`,
which is `streamlit run explorer/app.py` without Nagle's delay) on the
ports after `--port`, M `python -m explorer.runs worker`, and nginx on `--port` with
`deploy/nginx.conf.template` (a browser placed on the next app server in turn, then kept
there by a cookie; websockets upgraded; X-Forwarded-For set); every app server and worker
shares one Redis and one runs folder
(`$CAPTION_LAB_RUNS`). Ctrl-C stops them all. On several machines, run the same pieces
by hand: Redis once, app servers and workers wherever the runs folder is mounted at the
same path, and nginx's `server` lines pointing at the app servers.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
PROXY_SETTINGS = Path(__file__).with_name("nginx-proxy.conf")


def _which(program: str) -> str:
    for folder in [*os.environ.get("PATH", "").split(os.pathsep), "/usr/sbin", "/usr/bin", "/usr/local/sbin"]:
        path = Path(folder) / program
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise FileNotFoundError(f"{program} is not installed (Debian: apt-get install {program})")


def _wait_http(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited early (code {process.returncode})")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def nginx_conf(servers: list[str], listen: str, folder: Path) -> str:
    """`nginx.conf.template` filled in: app servers `servers` ("host:port"), nginx on `listen`,
    its logs and temporary files in `folder`."""
    return (TEMPLATE.read_text()
            .replace("{{logs}}", str(folder)).replace("{{temp}}", str(folder / "temp"))
            .replace("{{servers}}", "\n".join(f"        server {s} max_fails=1 fail_timeout=5s;" for s in servers))
            .replace("{{server_map}}", "\n".join(f'        "{s}" {s};' for s in servers))
            .replace("{{listen}}", listen).replace("{{proxy_settings}}", str(PROXY_SETTINGS)))


class Cluster:
    """The processes of one class server; `start()` them, `stop()` them (also as a context manager)."""

    def __init__(self, folder: Path, *, servers: int = 2, workers: int = 2, port: int = 8500,
                 redis_url: str | None = None, runs: Path | None = None, env: dict | None = None,
                 app_command: list[str] | None = None):
        self.folder = Path(folder)
        self.servers, self.workers, self.port = servers, workers, port
        self.redis_url = redis_url
        self.runs = Path(runs) if runs else self.folder / "runs"
        self.env = env or {}
        self.processes: list[subprocess.Popen] = []
        self.app_ports = [port + 1 + k for k in range(servers)]
        # `python -m explorer.serve` is `streamlit run explorer/app.py` without Nagle's delay
        self.app_command = app_command or [sys.executable, "-m", "explorer.serve"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def start(self) -> "Cluster":
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "temp").mkdir(exist_ok=True)
        if self.redis_url is None:
            redis_port = self.port + 100
            self._spawn("redis", [_which("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", str(self.folder)])
            self.redis_url = f"redis://127.0.0.1:{redis_port}/0"
            time.sleep(0.3)
        shared = {"CAPTION_LAB_REDIS_URL": self.redis_url, "CAPTION_LAB_RUNS": str(self.runs),
                  "STREAMLIT_SERVER_COOKIE_SECRET": "caption-lab-class-" + str(self.port), **self.env}
        apps = [self._spawn(f"app-{p}", [*self.app_command, "--server.port", str(p), "--server.address", "127.0.0.1",
                                         "--server.headless", "true"], shared) for p in self.app_ports]
        for k in range(self.workers):
            self._spawn(f"worker-{k}", [sys.executable, "-m", "explorer.runs", "worker"], shared)
        conf = nginx_conf([f"127.0.0.1:{p}" for p in self.app_ports], f"127.0.0.1:{self.port}", self.folder)
        (self.folder / "nginx.conf").write_text(conf)
        nginx = self._spawn("nginx", [_which("nginx"), "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"),
                                      "-e", str(self.folder / "nginx-error.log")])
        for process, p in zip(apps, self.app_ports):
            _wait_http(f"http://127.0.0.1:{p}/_stcore/health", process)
        _wait_http(f"{self.url}/_stcore/health", nginx)
        return self

    def app_pids(self) -> list[int]:
        return [p.pid for p in self.processes if "--server.port" in p.args]

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=2, help="app servers behind nginx (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="RQ workers: runs that train at once (default 2)")
    parser.add_argument("--port", type=int, default=8500, help="nginx's port; app servers take the next ones")
    parser.add_argument("--redis-url", help="an existing Redis (default: start one on port + 100)")
    parser.add_argument("--folder", type=Path, help="logs and nginx's files (default: a temporary folder)")
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="caption-lab-cluster-"))
    cluster = Cluster(folder, servers=args.servers, workers=args.workers, port=args.port, redis_url=args.redis_url)
    try:
        cluster.start()
        print(f"Caption Lab for the class on {cluster.url} ({args.servers} app servers, {args.workers} workers, "
              f"Redis {cluster.redis_url}); logs in {folder}. Ctrl-C stops it.", flush=True)
        signal.sigwait([signal.SIGINT, signal.SIGTERM])
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
