"""Work done in another process while this one goes on: ``gongkai publish`` spreads the public
bundle, the notice-board sheets and the English pages over the machine's cores.

``Apart("spawn", function, *args)`` starts a fresh interpreter (the arguments are pickled; it
opens its own connections): safe whatever this process holds. ``Apart("fork", function)`` runs
a closure over this process's memory (the books of a site, read once) without copying it up
front; it forks only while this process has a single thread — a fork while another thread
holds a lock can deadlock the child — and otherwise does the work here, when ``result`` is
asked for. ``Apart("here", …)`` always does it here, in ``result``. Either way ``result()`` returns what the function returned or raises what it raised,
and a child that dies without answering is an error that says so.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class Apart(Generic[R]):
    def __init__(self, method: str, function: Callable[..., R], *args: Any) -> None:
        self._function, self._args = function, args
        self._process: Any = None
        if method == "here" or (method == "fork" and (threading.active_count() != 1
                                or "fork" not in multiprocessing.get_all_start_methods())):  # fmt: skip
            return  # done here, in ``result``
        context: Any = multiprocessing.get_context(method)
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_run, args=(send, function, args), daemon=True)
        self._process.start()
        send.close()

    def result(self) -> R:
        if self._process is None:
            return self._function(*self._args)
        try:
            status, value = self._receive.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(f"{getattr(self._function, '__name__', 'a worker')} died in its own process "
                               f"(exit code {self._process.exitcode})") from None  # fmt: skip
        finally:
            self._receive.close()
        self._process.join()
        if status == "error":
            raise value
        result: R = value
        return result

    def __enter__(self) -> Apart[R]:
        return self

    def __exit__(self, *_: object) -> None:
        """Leaving without the result (an error here): stop the child."""
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _run(send: Connection, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        send.send(("ok", function(*args)))
    except BaseException as error:
        send.send(("error", error))
    finally:
        send.close()
