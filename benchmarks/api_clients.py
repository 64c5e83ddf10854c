"""The benchmark's clients and the service under test: `newswatch serve` in a subprocess,
asyncio + httpx clients (one keep-alive connection each), and the service's CPU time."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.api_corpus import START, TOPICS

NEWSWATCH = Path(sys.executable).with_name("newswatch")
QUERIES = [
    "huawei",
    '"hong kong"',
    "sanction*",
    "huawei AND (5g OR masts)",
    "xinjiang OR uighur",
    "nuclear NOT bradwell",
    "title:security",
    "extradition treaty",
    "",
]
# The typical searches: two terms, a phrase, a date-and-thread filter.
TYPICAL: dict[str, list[dict[str, str]]] = {
    "two terms": [
        {"q": "huawei masts"},
        {"q": "xinjiang sanctions"},
        {"q": "nuclear stake"},
        {"q": "trade tariffs"},
    ],
    "phrase": [
        {"q": '"national security law"'},
        {"q": '"forced labour"'},
        {"q": '"export controls"'},
        {"q": '"intelligence sharing"'},
    ],
    "date and thread": [
        {"q": "", "thread": "hong-kong", "since": "2020-09-01", "until": "2020-10-01"},
        {"q": "huawei", "thread": "huawei-5g", "since": "2021-01-01", "until": "2021-02-15"},
        {"q": "", "thread": "nuclear", "since": "2020-12-01", "until": "2021-01-01"},
        {"q": "sanctions", "thread": "xinjiang", "since": "2021-03-01", "until": "2021-05-01"},
    ],
}
TYPICAL_ROUNDS = 25


def service_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (uvicorn's workers), from /proc."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue  # ended meanwhile
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending += [int(child) for child in children]
    return total


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the service's, during this phase
    wall_seconds: float = 0.0
    first: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.requests())


def next_request(rng: random.Random, count: int) -> tuple[str, str, dict[str, Any]]:
    """(kind, path, params): mostly searches, as a newsroom would use it."""
    roll = rng.random()
    if roll < 0.70:
        params: dict[str, Any] = {"q": rng.choice(QUERIES)}
        if rng.random() < 0.3:
            params["thread"] = rng.choice(list(TOPICS))
        if rng.random() < 0.3:
            day = START + timedelta(days=rng.randrange(0, 300))
            params["since"] = day.date().isoformat()
            params["until"] = (day + timedelta(days=60)).date().isoformat()
        if rng.random() < 0.3:
            params["sort"] = "date"
        return "search", "/api/search", params
    if roll < 0.80:
        return "timeline", "/api/timeline", {"thread": rng.choice(list(TOPICS))}
    if roll < 0.85:
        return "threads", "/api/threads", {}
    return "article", f"/api/articles/{rng.randrange(count):032x}", {}


async def client(base_url: str, seed: int, deadline: float, count: int, tally: Tally) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        while time.perf_counter() < deadline:
            kind, path, params = next_request(rng, count)
            started = time.perf_counter()
            try:
                response = await http.get(path, params=params)
            except httpx.HTTPError as exc:
                tally.errors.append(f"{kind} {path}: {type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                tally.errors.append(
                    f"{kind} {path} {params}: HTTP {response.status_code} {response.text[:300]}"
                )
            tally.latencies[kind].append(elapsed)


async def typical(base_url: str) -> Tally:
    """One client, each typical query TYPICAL_ROUNDS times (after one warm-up round)."""
    tally = Tally()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for round_number in range(TYPICAL_ROUNDS + 1):
            for kind, variants in TYPICAL.items():
                for params in variants:
                    started = time.perf_counter()
                    response = await http.get("/api/search", params=params)
                    elapsed = time.perf_counter() - started
                    if response.status_code != 200:
                        tally.errors.append(f"{kind} {params}: HTTP {response.status_code}")
                    elif round_number:
                        tally.latencies[kind].append(elapsed)
                    else:  # each variant's first request: nothing of it is cached yet
                        tally.first[kind].append(elapsed)
    return tally


async def load(base_url: str, clients: int, seconds: float, count: int) -> Tally:
    tally = Tally()
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(client(base_url, i, deadline, count, tally) for i in range(clients)))
    return tally


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    data_dir: Path, port: int, workers: int, cache_seconds: float
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEWSWATCH_DATA_DIR": str(data_dir),
        "NEWSWATCH_FEEDS": "[]",
        "NEWSWATCH_API__WORKERS": str(workers),
        "NEWSWATCH_API__CACHE_SECONDS": str(cache_seconds),
    }
    server = subprocess.Popen(
        [str(NEWSWATCH), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            err = server.stderr.read().decode() if server.stderr else ""
            raise SystemExit(f"newswatch serve exited: {err[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()  # not kill: the supervisor stops its worker processes on SIGTERM
    server.wait(timeout=60)
    raise SystemExit("newswatch serve did not become ready within 180 s")
