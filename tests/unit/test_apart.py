"""``publish.apart``: work in another process answers, fails, or dies, and says which."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ledger.errors import InputError
from publish.apart import Apart


def _square(n: int) -> int:
    return n * n


def _refuse(message: str) -> None:
    raise InputError(message)


def _die() -> None:
    os._exit(3)


@pytest.mark.parametrize("method", ["spawn", "fork", "here"])
def test_the_result_comes_back(method: str) -> None:
    with Apart(method, _square, 12) as job:
        assert job.result() == 144


def test_a_forked_closure_sees_this_process_memory_and_runs_elsewhere() -> None:
    # In a fresh interpreter: this test process may have other threads (then Apart does not fork).
    script = (
        "import os\n"
        "from publish.apart import Apart\n"
        "here = os.getpid()\n"
        "with Apart('fork', lambda: (os.getpid(), here)) as job:\n"
        "    pid, seen = job.result()\n"
        "print(seen == here != pid)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert done.stdout.strip() == "True", done.stderr


@pytest.mark.parametrize("method", ["spawn", "fork", "here"])
def test_an_error_is_raised_here_as_it_was_raised_there(method: str) -> None:
    with pytest.raises(InputError, match="the font lacks 𠀀"), Apart(method, _refuse, "the font lacks 𠀀") as job:
        job.result()


def test_a_child_that_dies_is_an_error_that_says_so() -> None:
    with pytest.raises(RuntimeError, match="_die died in its own process .exit code 3"), Apart("spawn", _die) as job:
        job.result()


def test_with_another_thread_running_a_fork_is_done_here_instead() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with Apart("fork", os.getpid) as job:
            assert job.result() == os.getpid()
    finally:
        stop.set()
        other.join()
