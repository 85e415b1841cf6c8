"""Requests per second of the RealtimeKit emulator over one keep-alive connection.

Drives N small requests (alternately create a meeting, then get it) through a
single ``httpx.Client``, prints the rate as one line and writes a JSON record
to ``benchmarks/results/emulator_rps-<timestamp>.json``.

By default the emulator runs as a subprocess (``python -m
cfql.provider.cloudflare.emulator``) so client and server do not share a GIL;
``--in-process`` measures the embedded ``Emulator`` that tests use.

    python benchmarks/emulator_rps.py [-n 2000] [--in-process]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
from machine import machine_info  # a sibling module: these run as scripts

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
TOKEN = "cfql-sandbox-token"
WARMUP = 50


@contextlib.contextmanager
def subprocess_emulator() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cfql.provider.cloudflare.emulator", "--port", "0", "--token", TOKEN],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        match = re.search(r"listening on (\S+)", proc.stdout.readline())
        if match is None:
            raise RuntimeError("emulator did not start")
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


@contextlib.contextmanager
def in_process_emulator() -> Iterator[str]:
    sys.path.insert(0, str(REPO))
    from cfql.provider.cloudflare.emulator import Emulator  # needs the path above

    with Emulator(token=TOKEN) as emu:
        yield emu.url


def drive(url: str, requests: int) -> float:
    """Seconds taken by `requests` requests, alternating create and get, after a warm-up."""
    path = "/accounts/bench/realtime/kit/bench/meetings"
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        meeting_id = ""

        def one(i: int) -> None:
            nonlocal meeting_id
            if i % 2 == 0:
                response = client.post(path, json={"title": f"bench {i}"})
                meeting_id = response.json()["data"]["id"]
            else:
                response = client.get(f"{path}/{meeting_id}")
            response.raise_for_status()

        for i in range(WARMUP):
            one(i)
        start = time.perf_counter()
        for i in range(requests):
            one(i)
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=2000, help="requests to time (default: 2000)")
    parser.add_argument("--in-process", action="store_true", help="run the emulator in this process")
    args = parser.parse_args()

    mode = "in-process" if args.in_process else "subprocess"
    with in_process_emulator() if args.in_process else subprocess_emulator() as url:
        seconds = drive(url, args.requests)
    rate = args.requests / seconds
    detail = f"{args.requests} requests in {seconds:.2f} s, {mode}, one keep-alive connection"
    print(f"emulator_rps: {rate:.0f} requests/s ({detail})")

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "benchmark": "emulator_rps",
        "timestamp": stamp,
        "mode": mode,
        "requests": args.requests,
        "seconds": round(seconds, 4),
        "requests_per_second": round(rate, 1),
        "workload": "alternating POST create meeting / GET meeting, one httpx.Client",
        "machine": machine_info(),
        "httpx": httpx.__version__,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"emulator_rps-{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
