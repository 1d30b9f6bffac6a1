"""3. HTTP under load: ``gongkai serve`` (its own process, uvicorn as the command runs it) on
PostgreSQL, 32 concurrent clients on loopback, each with one keep-alive connection, posting
signed single-event commands (``POST /api/v1/commands``) for a bounded time.

Commands are signed before the timed window by a pool of processes (officials sign on their
own machines), and the clients run in a process of their own with a small HTTP/1.1 client on
asyncio streams, so neither competes with the server's interpreter. Reported: acknowledged
commands/s, p50 and p99 latency, and a count check — every acknowledged command is stored
exactly once and nothing else was stored. The baseline is ``GET /healthz`` with the same
clients: what the server's HTTP stack does with no ledger work at all.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from benchmarks import town
from benchmarks.harness import Progress, Result, Target, say
from ledger import ids
from ledger.application import Ledger
from ledger.commands import payload_of
from projections.store import database_env

CLIENTS = 32
PATH = "/api/v1/commands"


@dataclass(frozen=True, slots=True)
class Run:
    done: int  # requests answered in the window
    ok: list[int]  # indices of acknowledged commands (201, or 200 for a replay)
    failed: dict[int, int]  # status -> count
    latencies: list[float]  # seconds, acknowledged requests in the window
    seconds: float


def _sign_range(start: int, stop: int) -> list[bytes]:
    recorder = town.signer("recorder")
    bodies = []
    for index in range(start, stop):
        signed = recorder.sign("disbursement.make", town.disbursement(index))
        bodies.append(json.dumps({"signed": signed.signed.decode(),
                                  "signature": base64.b64encode(signed.signature).decode(),
                                  "key_id": signed.key_id}).encode())  # fmt: skip
    return bodies


def presign(count: int, workers: int) -> list[bytes]:
    step = 1_000
    bodies: list[bytes] = []
    context = multiprocessing.get_context("spawn")
    with Progress("pre-sign commands", count) as bar, ProcessPoolExecutor(workers, mp_context=context) as pool:
        for part in pool.map(_sign_range, range(0, count, step), [min(count, s + step) for s in range(0, count, step)]):
            bodies.extend(part)
            bar.update(len(part))
    return bodies


def _request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _load(port: int, requests: Sequence[bytes], warmup: float, seconds: float) -> Run:
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(CLIENTS)]
    cursor = 0
    ok: list[int] = []
    failed: dict[int, int] = {}
    latencies: list[float] = []
    done = 0
    begin = time.perf_counter()
    window = begin + warmup
    end = window + seconds

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal cursor, done
        while cursor < len(requests) and time.perf_counter() < end:
            index = cursor
            cursor += 1
            sent = time.perf_counter()
            status = await _exchange(reader, writer, requests[index])
            answered = time.perf_counter()
            if status in (200, 201):
                ok.append(index)
                if sent >= window:
                    latencies.append(answered - sent)
            else:
                failed[status] = failed.get(status, 0) + 1
            if sent >= window:
                done += 1

    await asyncio.gather(*(client(r, w) for r, w in connections))
    measured = min(time.perf_counter(), end) - window
    for _, writer in connections:
        writer.close()
    return Run(done, ok, failed, latencies, measured)


def _drive(port: int, requests: Sequence[bytes], warmup: float, seconds: float, out: Connection) -> None:
    out.send(asyncio.run(_load(port, requests, warmup, seconds)))


def drive(port: int, requests: Sequence[bytes], warmup: float, seconds: float) -> Run:
    """The clients, in a process of their own."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_drive, args=(port, requests, warmup, seconds, sender))
    child.start()
    with Progress(f"{CLIENTS} clients, {warmup + seconds:.0f} s", int(warmup + seconds)) as bar:
        while not receiver.poll(1.0):
            bar.update(1)
    run: Run = receiver.recv()
    child.join()
    return run


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gongkai serve exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(_request("GET", "/healthz"))
                if probe.recv(100).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gongkai serve did not answer /healthz")


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def stored_once(url: str, acknowledged: set[str], before: int) -> tuple[int, int, int]:
    """(acknowledged and stored once, stored but not acknowledged, stored twice or missing)."""
    app = Ledger(env=database_env(url))
    try:
        program = ids.program_id(town.JURISDICTION, town.PROGRAM)
        seen: dict[str, int] = {}
        for event in app.events.get(program, gt=before):
            idem = payload_of(event.signed)["idem"]  # type: ignore[attr-defined]
            seen[idem] = seen.get(idem, 0) + 1
    finally:
        app.close()
    once = sum(1 for idem in acknowledged if seen.get(idem) == 1)
    extra = sum(1 for idem in seen if idem not in acknowledged)
    wrong = sum(1 for idem in acknowledged if seen.get(idem) != 1) + sum(1 for n in seen.values() if n > 1)
    return once, extra, wrong


def run(url: str, folder: Path, seconds: float, rate_guess: int = 1_500) -> list[Result]:
    app = Ledger(env=database_env(url))
    try:
        town.found(app)
        program = ids.program_id(town.JURISDICTION, town.PROGRAM)
        before = max(e.originator_version for e in app.events.get(program))
    finally:
        app.close()
    warmup = 2.0
    bodies = presign(int(rate_guess * (seconds + warmup)), max(1, (os.cpu_count() or 2)))
    port = _free_port()
    env = {**os.environ, "GONGKAI_DATABASE_URL": url, "GONGKAI_ENV": "development",
           "GONGKAI_LOG_KEY_FILE": str(folder / "http-log.key"),
           "GONGKAI_INTAKE_KEY_FILE": str(folder / "http-intake.key")}  # fmt: skip
    gongkai = Path(sys.executable).with_name("gongkai")
    server = subprocess.Popen(  # noqa: S603 - our own command line, loopback only
        [str(gongkai), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_ready(port, server)
        say(f"http: GET /healthz, {CLIENTS} clients (baseline)")
        health = drive(port, [_request("GET", "/healthz")] * 1_000_000, 1.0, min(5.0, seconds))
        say(f"http: POST {PATH}, {CLIENTS} clients, {seconds:.0f} s")
        commands = drive(port, [_request("POST", PATH, b) for b in bodies], warmup, seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    acknowledged = {payload_of(json.loads(bodies[i])["signed"])["idem"] for i in commands.ok}
    once, extra, wrong = stored_once(url, acknowledged, before)
    rate = commands.done / commands.seconds
    base = health.done / health.seconds
    p50, p99 = percentile(commands.latencies, 0.5) * 1000, percentile(commands.latencies, 0.99) * 1000
    b50, b99 = percentile(health.latencies, 0.5) * 1000, percentile(health.latencies, 0.99) * 1000
    refused = ", ".join(f"{n} × {s}" for s, n in sorted(commands.failed.items())) or "none"
    note = (f"{len(commands.ok):,} acknowledged (warm-up included), refused: {refused}; "
            f"/healthz p50 {b50:.1f} ms, p99 {b99:.1f} ms")  # fmt: skip
    count_ok = once == len(acknowledged) and extra == 0 and wrong == 0
    return [
        Result(3, "http", "postgresql", f"POST {PATH}, {CLIENTS} clients", rate, "cmd/s",
               "GET /healthz, req/s", base, rate / base, Target(1000), note),
        Result(3, "http", "postgresql", "latency p50", p50, "ms", "GET /healthz p50, ms", b50,
               p50 / b50 if b50 else None),
        Result(3, "http", "postgresql", "latency p99", p99, "ms", "GET /healthz p99, ms", b99,
               p99 / b99 if b99 else None, Target(100, at_most=True)),
        Result(3, "http", "postgresql", "acknowledged = stored exactly once", float(once), "cmds",
               "acknowledged", float(len(acknowledged)), None, None,
               "count check " + ("OK" if count_ok else f"FAILED: {extra} stored unacknowledged, "
                                 f"{wrong} missing or duplicated")),
    ]  # fmt: skip
