"""Processes the fault tests start and always stop: the ``gongkai`` CLI, ``gongkai serve`` on a
free local port, and a private PostgreSQL server.

A private server is ``scripts/pg.sh`` with a state file of its own (``GONGKAI_PG_STATE``), so
pausing it (``pg_ctl stop -m fast``, data kept) and resuming it touches no other server, least
of all the one ``make test`` shares between the tests. Every wait here is bounded; a process
that outlives its test is killed by ``Processes.close``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PG_SH = ROOT / "scripts" / "pg.sh"
GONGKAI = Path(sys.executable).parent / "gongkai"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], bool], timeout: float, every: float = 0.05) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def gongkai(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the ``gongkai`` CLI to its end (bounded); the caller checks the exit code."""
    return subprocess.run([str(GONGKAI), *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


class Processes:
    """The processes one test started, each killed (SIGKILL) and reaped at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []
        self._files: list[IO[Any]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("ab")
        self._files.append(log)
        process = subprocess.Popen(args, env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        for log in self._files:
            log.close()


def sigkill(process: subprocess.Popen[bytes]) -> None:
    """``kill -9``: no handler runs, no buffer is flushed, no transaction is finished."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


class Server:
    """``gongkai serve`` on 127.0.0.1, started (and restarted on the same port) by a test."""

    def __init__(self, processes: Processes, env: dict[str, str], name: str = "serve") -> None:
        self.processes, self.env, self.name = processes, env, name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        self.process = self.processes.start(self.name, [str(GONGKAI), "serve", "--host", "127.0.0.1",
                                                         "--port", str(self.port)], self.env)  # fmt: skip
        wait_for(f"{self.name} on {self.url}", self._healthy, timeout, every=0.1)

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited {self.process.returncode}:\n"
                                 f"{self.processes.log(self.name)}")  # fmt: skip
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        sigkill(self.process)


class PrivatePostgres:
    """A PostgreSQL server of one test's own, run by ``scripts/pg.sh`` with its own state file."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.state = folder / ".pg-state"
        self.url = ""

    def _pg_sh(self, mode: str) -> str:
        done = subprocess.run(["bash", str(PG_SH), mode], env={**os.environ, "GONGKAI_PG_STATE": str(self.state)},
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"scripts/pg.sh {mode} failed:\n{done.stderr[-2000:]}")
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    def start(self) -> str:
        self.url = self._pg_sh("start")
        return self.url

    def pause(self) -> None:
        """``pg_ctl stop -m fast``, keeping the data and the port."""
        self._pg_sh("pause")

    def resume(self) -> None:
        assert self._pg_sh("resume") == self.url

    def stop(self) -> None:
        self._pg_sh("stop")


def pg_tool(name: str) -> str:
    """A PostgreSQL client program (pg_dump, pg_restore): the newest installed, else PATH."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                         reverse=True):  # fmt: skip
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found
