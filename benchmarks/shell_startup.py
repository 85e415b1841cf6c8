"""Start-up time of ``cfql shell --sandbox``: from spawn to the first prompt, in a pseudo-terminal.

Each run spawns ``python -m cfql shell --sandbox`` under pexpect with a
fresh HOME (no config, empty history), waits for the prompt, then times the
first statement (``SHOW PROVIDERS;``, which pays for the imports and the
sandbox the shell defers) and leaves with Ctrl-D. Prints the medians as one
line and writes a JSON record to ``benchmarks/results/shell_startup-<timestamp>.json``.

    python benchmarks/shell_startup.py [-n 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pexpect
from machine import machine_info  # a sibling module: these run as scripts

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
ANSI = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"
PROMPT = re.compile("cfql" + ANSI + " " + ANSI + r"\(sandbox\)" + ANSI + "> ")


def one_run() -> tuple[float, float]:
    """Seconds to the first prompt, and seconds for the first statement after it."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": f"{home}/config", "XDG_STATE_HOME": f"{home}/state"}
        env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")  # a pty with no terminal to answer CPR queries
        started = time.perf_counter()
        child = pexpect.spawn(
            sys.executable, ["-m", "cfql", "shell", "--sandbox"],
            cwd=str(REPO), env=env, dimensions=(40, 200), encoding="utf-8", timeout=30,
        )
        try:
            child.expect(PROMPT)
            ready = time.perf_counter() - started
            sent = time.perf_counter()
            child.send("SHOW PROVIDERS;\r")
            child.expect(r"\| cloudflare \|")
            first = time.perf_counter() - sent
            child.expect(PROMPT)  # between prompts the pty is in cooked mode and would swallow Ctrl-D
            child.sendcontrol("d")
            child.expect_exact("Goodbye!")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        return ready, first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=10, help="runs to take the median of (default: 10)")
    args = parser.parse_args()

    one_run()  # warm the OS file cache and the bytecode caches
    runs = [one_run() for _ in range(args.runs)]
    ready = [r for r, _ in runs]
    first = [f for _, f in runs]
    median_ready, median_first = statistics.median(ready), statistics.median(first)
    print(
        f"shell_startup: first prompt after {median_ready * 1000:.0f} ms (median of {args.runs}, "
        f"min {min(ready) * 1000:.0f}, max {max(ready) * 1000:.0f}); "
        f"first statement then takes {median_first * 1000:.0f} ms"
    )

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "benchmark": "shell_startup",
        "timestamp": stamp,
        "runs": args.runs,
        "seconds_to_prompt": {"median": round(median_ready, 4), "min": round(min(ready), 4), "max": round(max(ready), 4)},
        "seconds_first_statement": {"median": round(median_first, 4)},
        "all_seconds_to_prompt": [round(r, 4) for r in ready],
        "workload": "spawn `python -m cfql shell --sandbox` in a pty (pexpect), wait for the prompt; "
        "then SHOW PROVIDERS; and Ctrl-D",
        "machine": machine_info(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"shell_startup-{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
