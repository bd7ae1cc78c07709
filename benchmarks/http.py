"""HTTP transport at high concurrency: one httpx pool vs sharded pools vs httpx-aiohttp.

2,560 GETs at concurrency 64 against a loopback server answering after 50 ms (its own
process). Floor: 2560 x 0.05 s / 64 = 2.0 s. Reported: wall, and the client's CPU time.
httpx-aiohttp/aiohttp are not dependencies: they are measured when importable (install
them anywhere and point BENCH_EXTRA_PATH at it, e.g. pip install --target DIR).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from functools import partial
from importlib import import_module
from pathlib import Path
from types import ModuleType

import httpx

from benchmarks.common import PYTHON, Stats, note, report
from reconciler.api.client import ShardedTransport

REQUESTS = 2560
CONCURRENCY = 64
LATENCY = 0.05
FLOOR = REQUESTS * LATENCY / CONCURRENCY


async def _drive(get: Callable[[int], Coroutine[object, object, None]]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            await get(i)

    await asyncio.gather(*(one(i) for i in range(REQUESTS)))


async def _httpx(url: str, transport: httpx.AsyncBaseTransport | None) -> None:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, transport=transport) as client:

        async def get(i: int) -> None:
            response = await client.get(f"/api/open-api/v1/tasks/t-{i}")
            response.json()

        await _drive(get)


async def _sharded(url: str, shards: int) -> None:
    await _httpx(url, ShardedTransport(shards, CONCURRENCY))


async def _aiohttp(aiohttp: ModuleType, url: str) -> None:
    # aiohttp is not a dependency: used through the module object, untyped on purpose.
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as session:

        async def get(i: int) -> None:
            async with session.get(f"/api/open-api/v1/tasks/t-{i}") as response:
                await response.json()

        await _drive(get)


async def _aiohttp_transport(aiohttp: ModuleType, plugin: ModuleType, url: str) -> None:
    def session() -> object:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY))

    transport = plugin.AiohttpTransport(client=session)
    assert isinstance(transport, httpx.AsyncBaseTransport)
    await _httpx(url, transport)


def _variants(url: str) -> dict[str, Callable[[], Coroutine[object, object, None]]]:
    variants: dict[str, Callable[[], Coroutine[object, object, None]]] = {
        "httpx, one pool of 64": lambda: _httpx(url, None),
    }
    for shards in (4, 8, 16, 32):
        size = CONCURRENCY // shards
        variants[f"httpx, ShardedTransport {shards} x {size}"] = partial(_sharded, url, shards)
    try:
        aiohttp = import_module("aiohttp")
        plugin = import_module("httpx_aiohttp")
    except ImportError:
        note("httpx-aiohttp / aiohttp not importable: not measured (see module docstring)")
        return variants
    variants["httpx + httpx-aiohttp transport"] = partial(_aiohttp_transport, aiohttp, plugin, url)
    variants["aiohttp itself (reference)"] = partial(_aiohttp, aiohttp, url)
    return variants


def run(work: Path, runs: int) -> None:
    extra = os.environ.get("BENCH_EXTRA_PATH")
    if extra:
        sys.path.append(extra)  # after the venv: its httpx stays the one measured
    work.mkdir(parents=True, exist_ok=True)
    ready = work / "server.url"
    ready.unlink(missing_ok=True)
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "benchmarks.httpserver",
            "--latency",
            str(LATENCY),
            "--ready-file",
            str(ready),
        ]
    )
    try:
        deadline = time.monotonic() + 15
        while not (ready.exists() and ready.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        url = ready.read_text()
        note(f"{REQUESTS} GETs, concurrency {CONCURRENCY}, server latency {LATENCY * 1000:.0f} ms")
        for name, make in _variants(url).items():
            walls, cpus = [], []
            for _ in range(runs):
                wall, cpu = time.perf_counter(), time.process_time()
                asyncio.run(make())
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            report(name, Stats(tuple(walls)), FLOOR, "requests x latency / concurrency")
            note(f"client CPU median {sorted(cpus)[len(cpus) // 2]:.2f} s")
    finally:
        server.terminate()
        server.wait(timeout=10)
