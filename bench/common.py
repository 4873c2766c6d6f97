"""Shared benchmark plumbing: subprocess servers, load results, result lines."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Cores:
    """Which CPUs the servers under test and the load generator run on."""

    servers: frozenset[int]
    client: frozenset[int]

    def describe(self) -> str:
        return f"servers on CPU {','.join(map(str, sorted(self.servers)))}, load generator on CPU " + ",".join(
            map(str, sorted(self.client)))


def split_cores() -> Cores | None:
    """Keep the load generator off the servers' cores (real senders are not on our machine).

    Databases and Redis are left to the scheduler: they compete with both. None on one core.
    """
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return Cores(servers=frozenset(cores[:-1]), client=frozenset(cores[-1:]))


@contextmanager
def server_process(
    args: list[str], env: dict[str, str], port: int, cores: frozenset[int] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    pin = (lambda: os.sched_setaffinity(0, cores)) if cores else None
    process = subprocess.Popen(
        args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=pin
    )
    try:
        wait_for_port(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


@dataclass
class LoadResult:
    """One load run: the latency of every answered request, and how many answered >= 300."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def python() -> str:
    return sys.executable


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(extra)
    return env


def row(name: str, ours: float, peer_name: str, peer: float, unit: str) -> str:
    ratio = ours / peer if peer else float("nan")
    return f"| {name} | {ours:,.1f} {unit} | {peer_name} | {peer:,.1f} {unit} | {ratio:.2f}x |"


def faster(name: str, ours: float, peer_name: str, peer: float, unit: str) -> str:
    """A row for a cost (lower is better): the ratio says how many times faster ours is."""
    ratio = peer / ours if ours else float("nan")
    return f"| {name} | {ours:,.1f} {unit} | {peer_name} | {peer:,.1f} {unit} | {ratio:.2f}x faster |"
