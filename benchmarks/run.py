"""cfql's benchmarks in one command: per-call overhead, end to end, bulk scripts, cold start, memory.

    python benchmarks/run.py [--only a,b,c,d,e] [--quick] [--profile]

a  per-call overhead in process (httpx.MockTransport, no network): cfql
   ``conn.execute()`` vs the official SDK (``cloudflare`` 5.9.0) for each of the
   seven meetings methods; cfql with a new statement text each call, the same
   text again, and the same text with bind parameters.
b  end to end over loopback against the emulator (in a subprocess, and also
   in process): 2,000 requests, cfql vs SDK vs bare ``httpx.Client``.
c  a 1,000-statement script against the emulator with 20 ms latency at
   concurrency 1, 8 and 32: wall time vs ``1000 x 20 ms / N``.
d  cold start: ``cfql exec --dry-run`` vs ``python -c "import httpx, sqlglot"``
   (hyperfine when installed, else a subprocess loop).
e  memory: peak RSS of ``cfql exec -i`` on 10,000 vs 1,000 statements.

Every run prints a table with the targets and PASS/FAIL and writes
``benchmarks/results/run-<UTC timestamp>.json``. ``--profile`` adds cProfile
listings of cfql's own functions on the per-call and end-to-end paths.
Only 127.0.0.1 is ever contacted. The machine may be shared: every timed
number is a median of repeats, and the spread is recorded next to it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx
from machine import machine_info  # a sibling module: run as a script

RESULTS = REPO / "benchmarks" / "results"
RESOURCE = "cloudflare.realtime_kit.meetings"
ACC, APP, MTG, PTC = "acc-0123", "app-4567", "mtg-89ab", "ptc-cdef"
TOKEN = "cfql-sandbox-token"  # the emulator's sandbox token; never a real credential
MOCK_BASE = (
    "http://127.0.0.1:9/client/v4"  # MockTransport answers; nothing is sent anywhere
)

TARGETS = {
    "a_repeat": 1.0,  # cfql / SDK, same text and bind parameters
    "a_new": 1.5,  # cfql / SDK, a new statement text each call
    "b": 1.1,  # cfql time / bare httpx time
    "c": 0.80,  # ideal / actual
    "d": 1.3,  # cfql exec --dry-run / python -c "import httpx, sqlglot"
    "e_pct": 20.0,  # peak RSS growth from 1k to 10k statements, percent
}


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


@dataclass
class Line:
    part: str
    case: str
    measured: str
    ratio: str
    target: str
    ok: bool | None  # None: informational, no target
    why: str = ""  # which sub-target failed


class Report:
    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.data: dict[str, t.Any] = {}
        self.notes: list[str] = []

    def add(
        self,
        part: str,
        case: str,
        measured: str,
        ratio: str = "",
        target: str = "",
        ok: bool | None = None,
    ) -> None:
        self.lines.append(Line(part, case, measured, ratio, target, ok))

    def table(self) -> str:
        head = ("part", "case", "measured", "ratio", "target", "result")
        rows = [head] + [
            (
                ln.part,
                ln.case,
                ln.measured,
                ln.ratio,
                ln.target,
                ""
                if ln.ok is None
                else ("PASS" if ln.ok else "FAIL") + (f" ({ln.why})" if ln.why else ""),
            )
            for ln in self.lines
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        out = []
        for n, row in enumerate(rows):
            out.append(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
            )
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)


def spread(values: t.Sequence[float]) -> float:
    """Half the min-max range relative to the median, in percent: a plain noise figure."""
    med = statistics.median(values)
    return (
        0.0 if not med or len(values) < 2 else 50.0 * (max(values) - min(values)) / med
    )


def paired_ratio(values: t.Sequence[float], baseline: t.Sequence[float]) -> float:
    """Median of per-repeat ratios: each pair was measured back to back, so load from other work cancels out."""
    return statistics.median(v / b for v, b in zip(values, baseline))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# The emulator in a subprocess (or in process)
# ---------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.pop("CLOUDFLARE_BASE_URL", None)
    env.update(extra)
    return env


@contextlib.contextmanager
def emulator_subprocess(latency: float = 0.0) -> t.Iterator[str]:
    """``python -m cfql.provider.cloudflare.emulator`` on a free loopback port; yields its base URL."""
    argv = [
        sys.executable,
        "-m",
        "cfql.provider.cloudflare.emulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--token",
        TOKEN,
    ]
    if latency:
        argv += ["--latency", str(latency)]
    proc = subprocess.Popen(
        argv, cwd=REPO, env=child_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        match = re.search(
            r"listening on (http://127\.0\.0\.1:\d+\S*)", proc.stdout.readline()
        )
        if match is None:
            raise RuntimeError("the emulator did not start")
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def emulator_in_process(latency: float = 0.0) -> t.Iterator[str]:
    from cfql.provider.cloudflare.emulator import Emulator, Faults

    with Emulator(token=TOKEN, faults=Faults(latency=latency)) as emu:
        yield emu.url


def keepalive_client() -> httpx.Client:
    """The client settings cfql builds for itself (cfql.http.core.pool_limits at concurrency 1)."""
    return httpx.Client(
        timeout=60.0,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


# ---------------------------------------------------------------------------
# a. Per-call overhead against httpx.MockTransport
# ---------------------------------------------------------------------------

NOW = "2026-01-01T00:00:00.000Z"
MEETING = {
    "id": "0e5c77f4-330f-43e3-922d-015e48ea15b3",
    "title": "Standup",
    "status": "ACTIVE",
    "created_at": NOW,
    "updated_at": NOW,
    "live_stream_on_start": False,
    "persist_chat": False,
    "record_on_start": False,
    "summarize_on_end": False,
    "transcribe_on_end": False,
    "session_keep_alive_time_in_secs": 60,
}
PARTICIPANT = {
    "id": "08a6522c-5906-4e86-bb3e-3ae53b48c3a0",
    "custom_participant_id": "alice@example.com",
    "preset_name": "group_call_host",
    "name": "Alice",
    "picture": None,
    "token": "YW2hANeOQubRo7rBrvVqhBUSznc3ER7i5HQSOtINkaM",
    "created_at": NOW,
    "updated_at": NOW,
}
DELETED = {
    "created_at": NOW,
    "custom_participant_id": "alice@example.com",
    "preset_id": "32dd4df5-e92f-53ed-a6f7-539477688e7b",
    "updated_at": NOW,
}


def _envelope(data: t.Any) -> bytes:
    return json.dumps({"success": True, "data": data}, separators=(",", ":")).encode()


# (HTTP method, number of "/" in the raw path) -> (status, body), as the emulator answers.
# /client/v4/accounts/{a}/realtime/kit/{b}/meetings has 8 slashes.
CANNED = {
    ("POST", 8): (201, _envelope(MEETING)),
    ("PATCH", 9): (200, _envelope(MEETING)),
    ("PUT", 9): (200, _envelope(MEETING)),
    ("POST", 10): (201, _envelope(PARTICIPANT)),
    ("PATCH", 11): (200, _envelope(PARTICIPANT)),
    ("DELETE", 11): (200, _envelope(DELETED)),
    ("POST", 12): (
        200,
        _envelope({"token": "O6sKVqCGmyMrobAT1bH1J-FlJ0mbOTB6x4Jtmhruw34"}),
    ),
}
JSON_HEADERS = [("content-type", "application/json")]


def mock_handler(request: httpx.Request) -> httpx.Response:
    status, body = CANNED[
        (request.method, request.url.raw_path.split(b"?", 1)[0].count(b"/"))
    ]
    return httpx.Response(status, content=body, headers=JSON_HEADERS)


def mock_client() -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(mock_handler))


WHERE_MEETING = (
    f"WHERE meeting_id = '{MTG}' AND account_id = '{ACC}' AND app_id = '{APP}'"
)
WHERE_PARTICIPANT = f"WHERE meeting_id = '{MTG}' AND participant_id = {{v}} AND account_id = '{ACC}' AND app_id = '{APP}'"


@dataclass(frozen=True)
class MethodCase:
    """One meetings method: the SDK call and the cfql statement, with ``{v}`` for the value that varies."""

    name: str
    sql: str  # {v} is replaced by a literal ('...') or by the bind :v
    sdk: t.Callable[
        [t.Any, str], t.Any
    ]  # (client.realtime_kit.meetings, value) -> response
    value: t.Callable[[int], str]


METHOD_CASES = (
    MethodCase(
        "create",
        f"INSERT INTO {RESOURCE} (account_id, app_id, title, record_on_start, session_keep_alive_time_in_secs) "
        f"SELECT '{ACC}', '{APP}', {{v}}, false, 60 RETURNING data, success",
        lambda m, v: m.create(
            APP,
            account_id=ACC,
            title=v,
            record_on_start=False,
            session_keep_alive_time_in_secs=60,
        ),
        lambda i: f"Standup {i}",
    ),
    MethodCase(
        "add_participant",
        f"INSERT INTO {RESOURCE} (account_id, app_id, meeting_id, custom_participant_id, preset_name, name) "
        f"SELECT '{ACC}', '{APP}', '{MTG}', {{v}}, 'group_call_host', 'Alice' RETURNING data, success",
        lambda m, v: m.add_participant(
            MTG,
            account_id=ACC,
            app_id=APP,
            custom_participant_id=v,
            preset_name="group_call_host",
            name="Alice",
        ),
        lambda i: f"user{i}@example.com",
    ),
    MethodCase(
        "refresh_participant_token",
        f"INSERT INTO {RESOURCE} (account_id, app_id, meeting_id, participant_id) "
        f"SELECT '{ACC}', '{APP}', '{MTG}', {{v}} RETURNING data, success",
        lambda m, v: m.refresh_participant_token(
            v, account_id=ACC, app_id=APP, meeting_id=MTG
        ),
        lambda i: f"ptc-{i}",
    ),
    MethodCase(
        "update_meeting_by_id",
        f"UPDATE {RESOURCE} SET title = {{v}}, persist_chat = true {WHERE_MEETING} RETURNING data, success",
        lambda m, v: m.update_meeting_by_id(
            MTG, account_id=ACC, app_id=APP, title=v, persist_chat=True
        ),
        lambda i: f"Renamed {i}",
    ),
    MethodCase(
        "edit_participant",
        f"UPDATE {RESOURCE} SET name = {{v}}, preset_name = 'group_call_participant' "
        f"WHERE meeting_id = '{MTG}' AND participant_id = '{PTC}' AND account_id = '{ACC}' AND app_id = '{APP}' "
        "RETURNING data, success",
        lambda m, v: m.edit_participant(
            PTC,
            account_id=ACC,
            app_id=APP,
            meeting_id=MTG,
            name=v,
            preset_name="group_call_participant",
        ),
        lambda i: f"Alice {i}",
    ),
    MethodCase(
        "replace_meeting_by_id",
        f"REPLACE {RESOURCE} SET title = {{v}}, record_on_start = false, persist_chat = false {WHERE_MEETING} "
        "RETURNING data, success",
        lambda m, v: m.replace_meeting_by_id(
            MTG,
            account_id=ACC,
            app_id=APP,
            title=v,
            record_on_start=False,
            persist_chat=False,
        ),
        lambda i: f"Replaced {i}",
    ),
    MethodCase(
        "delete_meeting_participant",
        f"DELETE FROM {RESOURCE} {WHERE_PARTICIPANT}",
        lambda m, v: m.delete_meeting_participant(
            v, account_id=ACC, app_id=APP, meeting_id=MTG
        ),
        lambda i: f"ptc-{i}",
    ),
)


class Recorder:
    """Wraps the mock handler to capture one request, for the are-they-equal check."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return mock_handler(request)

    def take(self) -> tuple[str, str, t.Any]:
        (request,) = self.seen
        self.seen.clear()
        return (
            request.method,
            request.url.raw_path.decode(),
            json.loads(request.content) if request.content else None,
        )


def check_same_requests(cases: t.Sequence[MethodCase]) -> None:
    """Refuse to time anything unless cfql and the SDK send the same request for every case."""
    from cloudflare import Cloudflare

    from cfql import connect

    recorder = Recorder()
    sdk = Cloudflare(
        api_token="t",
        base_url=MOCK_BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(recorder)),
        max_retries=0,
    )
    conn = connect(
        token="t",
        base_url=MOCK_BASE,
        rate_limit="0",
        http_client=httpx.Client(transport=httpx.MockTransport(recorder)),
    )
    for case in cases:
        value = case.value(7)
        case.sdk(sdk.realtime_kit.meetings, value)
        want = recorder.take()
        conn.execute(case.sql.replace("{v}", f"'{value}'"))
        got_literal = recorder.take()
        conn.execute(case.sql.replace("{v}", ":v"), {"v": value})
        got_bind = recorder.take()
        if not (want == got_literal == got_bind):
            raise AssertionError(
                f"{case.name}: cfql and the SDK send different requests: {want} / {got_literal} / {got_bind}"
            )
    conn.close()


def time_calls(call: t.Callable[[int], t.Any], start: int, n: int) -> float:
    """Microseconds per call of ``call(i)`` for i in start..start+n."""
    began = time.perf_counter()
    for i in range(start, start + n):
        call(i)
    return (time.perf_counter() - began) / n * 1e6


def part_a(report: Report, quick: bool, profile: bool) -> None:
    from cloudflare import Cloudflare

    from cfql import connect

    repeats, calls, warmup = (3, 200, 50) if quick else (5, 1000, 200)
    log(
        f"a: per-call overhead, {repeats} x {calls} calls per case after {warmup} warm-up calls"
    )
    check_same_requests(METHOD_CASES)
    sdk = Cloudflare(
        api_token="t", base_url=MOCK_BASE, http_client=mock_client(), max_retries=0
    )
    meetings = sdk.realtime_kit.meetings
    conn = connect(
        token="t", base_url=MOCK_BASE, rate_limit="0", http_client=mock_client()
    )
    counter = [
        10_000_000
    ]  # every value (and so every "new" text) is unique across the whole run

    results: dict[str, dict[str, t.Any]] = {}
    for case in METHOD_CASES:
        same_sql = case.sql.replace("{v}", "'Standup'")
        bind_sql = case.sql.replace("{v}", ":v")
        value, sql, sdk_call = case.value, case.sql, case.sdk
        variants: dict[str, t.Callable[[int], t.Any]] = {
            "sdk": lambda i, f=sdk_call, value=value: f(meetings, value(i)),
            "new": lambda i, sql=sql, value=value: conn.execute(
                sql.replace("{v}", f"'{value(i)}'")
            ),
            "same": lambda i, sql=same_sql: conn.execute(sql),
            "bind": lambda i, sql=bind_sql, value=value: conn.execute(
                sql, {"v": value(i)}
            ),
        }
        samples: dict[str, list[float]] = {k: [] for k in variants}
        for name, call in variants.items():
            time_calls(call, counter[0], warmup)
            counter[0] += warmup
        order = list(variants)
        for r in range(repeats):
            gc.collect()
            for name in (
                order[r % 4 :] + order[: r % 4]
            ):  # rotate, so drift hits every variant alike
                samples[name].append(time_calls(variants[name], counter[0], calls))
                counter[0] += calls
        med = {k: statistics.median(v) for k, v in samples.items()}
        results[case.name] = {
            "us_per_call_median": {k: round(v, 2) for k, v in med.items()},
            "us_per_call_samples": {
                k: [round(x, 2) for x in v] for k, v in samples.items()
            },
            "spread_pct": {k: round(spread(v), 1) for k, v in samples.items()},
            # each repeat times every variant back to back, so its cfql/SDK ratio shares that moment's noise
            "ratio": {
                k: round(paired_ratio(samples[k], samples["sdk"]), 3)
                for k in ("new", "same", "bind")
            },
        }
        log(
            f"   {case.name:27s} sdk {med['sdk']:7.1f}  new {med['new']:7.1f}  same {med['same']:7.1f}  "
            f"bind {med['bind']:7.1f} µs/call"
        )
    conn.close()
    report.data["a"] = {
        "repeats": repeats,
        "calls": calls,
        "warmup": warmup,
        "methods": results,
    }

    targets = {
        "new": TARGETS["a_new"],
        "same": TARGETS["a_repeat"],
        "bind": TARGETS["a_repeat"],
    }
    for method, res in results.items():
        med, ratio = res["us_per_call_median"], res["ratio"]
        noise = max(res["spread_pct"].values())
        failed = [k for k, limit in targets.items() if ratio[k] > limit]
        report.add(
            "a",
            method,
            f"SDK {med['sdk']:.0f} | new {med['new']:.0f} | same {med['same']:.0f} | bind {med['bind']:.0f} µs (±{noise:.0f}%)",
            "/".join(f"{ratio[k]:.2f}" for k in targets) + "x",
            "<= " + "/".join(f"{v:.1f}" for v in targets.values()) + "x",
            not failed,
        )
        report.lines[-1].why = ",".join(failed)

    if profile:
        profile_per_call(report, quick)


def profile_per_call(report: Report, quick: bool) -> None:
    from cfql import connect

    n = 300 if quick else 3000
    conn = connect(
        token="t", base_url=MOCK_BASE, rate_limit="0", http_client=mock_client()
    )
    case = METHOD_CASES[0]
    bind_sql = case.sql.replace("{v}", ":v")
    conn.execute(bind_sql, {"v": "warm"})
    report.data.setdefault("profiles", {})["a_bind_create"] = run_profile(
        "a: cfql create, same text + :binds",
        lambda: [conn.execute(bind_sql, {"v": f"t{i}"}) for i in range(n)],
        n,
    )
    report.data["profiles"]["a_new_create"] = run_profile(
        "a: cfql create, new text each call",
        lambda: [
            conn.execute(case.sql.replace("{v}", f"'p{i}'")) for i in range(n // 3)
        ],
        n // 3,
    )
    conn.close()


OWN_CODE = (str(REPO / "engine") + os.sep, str(REPO / "provider") + os.sep)


def run_profile(
    title: str, work: t.Callable[[], t.Any], calls: int, top: int = 10
) -> dict[str, t.Any]:
    """cProfile ``work``; print how much of it is cfql's own code and its costliest functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO()).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    rows = []
    for (filename, lineno, func), (_cc, nc, tottime, cumtime, _) in stats.items():
        if filename.startswith(OWN_CODE):
            rows.append(
                {
                    "function": f"{os.path.relpath(filename, REPO)}:{lineno}({func})",
                    "ncalls": nc,
                    "own_us_per_call": round(tottime / calls * 1e6, 2),
                    "cum_us_per_call": round(cumtime / calls * 1e6, 2),
                }
            )
    own = sum(r["own_us_per_call"] for r in rows)
    per_call = total / calls * 1e6
    rows.sort(key=lambda r: r["own_us_per_call"], reverse=True)
    print(
        f"\n# profile: {title} — {per_call:.0f} µs/call under cProfile ({calls} calls), "
        f"of which cfql's own code (engine/, provider/) {own:.0f} µs = {own / per_call:.0%}"
    )
    print(
        f"  {'own µs':>8} {'cum µs':>8} {'ncalls':>7}  function (per statement; cfql's own code, by own time)"
    )
    for row in rows[:top]:
        print(
            f"  {row['own_us_per_call']:8.1f} {row['cum_us_per_call']:8.1f} {row['ncalls']:7d}  {row['function']}"
        )
    return {
        "us_per_call": round(per_call, 1),
        "cfql_own_us_per_call": round(own, 1),
        "top_own": rows[:top],
    }


# ---------------------------------------------------------------------------
# b. End to end against the emulator
# ---------------------------------------------------------------------------

E2E_CREATE = (
    f"INSERT INTO {RESOURCE} (account_id, app_id, title) SELECT '{ACC}', '{APP}', :title "
    "RETURNING json_extract(data, '$.id') AS meeting_id"
)
E2E_UPDATE = f"UPDATE {RESOURCE} SET title = :title WHERE meeting_id = :meeting_id AND account_id = '{ACC}' AND app_id = '{APP}'"
MEETINGS_PATH = f"/accounts/{ACC}/realtime/kit/{APP}/meetings"


def e2e_drivers(
    url: str,
) -> tuple[dict[str, t.Callable[[int, int], None]], t.Callable[[], None]]:
    """Three clients doing the same work: create a meeting, rename it, create, rename, ..."""
    from cloudflare import Cloudflare

    from cfql import connect
    from cfql.http.core import USER_AGENT

    bare_client = keepalive_client()
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Authorization": f"Bearer {TOKEN}",
    }
    base = url + MEETINGS_PATH

    def bare(start: int, n: int) -> None:
        meeting_id = ""
        for i in range(start, start + n):
            if i % 2 == 0:
                response = bare_client.post(
                    base, json={"title": f"bench {i}"}, headers=headers
                )
                response.raise_for_status()
                meeting_id = response.json()["data"]["id"]
            else:
                response = bare_client.patch(
                    f"{base}/{meeting_id}",
                    json={"title": f"renamed {i}"},
                    headers=headers,
                )
                response.raise_for_status()
                response.json()

    sdk_client = Cloudflare(
        api_token=TOKEN, base_url=url, http_client=keepalive_client(), max_retries=0
    )
    meetings = sdk_client.realtime_kit.meetings

    def sdk(start: int, n: int) -> None:
        meeting_id = ""
        for i in range(start, start + n):
            if i % 2 == 0:
                meeting_id = meetings.create(
                    APP, account_id=ACC, title=f"bench {i}"
                ).data.id
            else:
                meetings.update_meeting_by_id(
                    meeting_id, account_id=ACC, app_id=APP, title=f"renamed {i}"
                )

    conn = connect(
        token=TOKEN, base_url=url, rate_limit="0", http_client=keepalive_client()
    )

    def cfql(start: int, n: int) -> None:
        meeting_id = ""
        for i in range(start, start + n):
            if i % 2 == 0:
                meeting_id = conn.execute(E2E_CREATE, {"title": f"bench {i}"})[0][
                    "meeting_id"
                ]
            else:
                conn.execute(
                    E2E_UPDATE, {"title": f"renamed {i}", "meeting_id": meeting_id}
                )

    def close() -> None:
        bare_client.close()
        sdk_client.close()
        conn.close()

    return {"httpx": bare, "sdk": sdk, "cfql": cfql}, close


def run_e2e(url: str, requests: int, rounds: int) -> dict[str, t.Any]:
    drivers, close = e2e_drivers(url)
    try:
        for drive in drivers.values():  # connect, warm caches and code paths
            drive(0, 50)
        seconds: dict[str, list[float]] = {k: [] for k in drivers}
        order = list(drivers)
        for r in range(rounds):
            for name in order[r % 3 :] + order[: r % 3]:
                gc.collect()
                began = time.perf_counter()
                drivers[name](0, requests)
                seconds[name].append(time.perf_counter() - began)
    finally:
        close()
    med = {k: statistics.median(v) for k, v in seconds.items()}
    return {
        "seconds_median": {k: round(v, 4) for k, v in med.items()},
        "seconds_samples": {k: [round(x, 4) for x in v] for k, v in seconds.items()},
        "requests_per_second": {k: round(requests / v, 1) for k, v in med.items()},
        "spread_pct": {k: round(spread(v), 1) for k, v in seconds.items()},
        "ratio_to_httpx": {
            k: round(paired_ratio(v, seconds["httpx"]), 3) for k, v in seconds.items()
        },
    }


def part_b(report: Report, quick: bool, profile: bool) -> None:
    requests, rounds = (400, 1) if quick else (2000, 5)
    log(
        f"b: end to end, {requests} requests x {rounds} rounds per client (emulator in a subprocess, then in process)"
    )
    out: dict[str, t.Any] = {
        "requests": requests,
        "rounds": rounds,
        "rate_limit": "0 (pacing off)",
    }
    for mode, emulator in (
        ("subprocess", emulator_subprocess),
        ("in-process", emulator_in_process),
    ):
        with emulator() as url:
            res = run_e2e(
                url, requests, rounds if mode == "subprocess" else max(1, rounds // 2)
            )
            if profile and mode == "subprocess":
                profile_e2e(report, url, 300 if quick else 2000)
        out[mode] = res
        rps, ratio, noise = (
            res["requests_per_second"],
            res["ratio_to_httpx"],
            res["spread_pct"],
        )
        log(f"   {mode:10s} " + "  ".join(f"{k} {v:.0f} req/s" for k, v in rps.items()))
        report.add(
            "b",
            f"e2e, emulator {mode}: cfql vs httpx",
            f"cfql {rps['cfql']:.0f}, httpx {rps['httpx']:.0f}, SDK {rps['sdk']:.0f} req/s (±{max(noise.values()):.0f}%)",
            f"{ratio['cfql']:.2f}x",
            f"<= {TARGETS['b']:.1f}x" if mode == "subprocess" else "(info)",
            ratio["cfql"] <= TARGETS["b"] if mode == "subprocess" else None,
        )
        report.add(
            "b",
            f"e2e, emulator {mode}: SDK vs httpx",
            "",
            f"{ratio['sdk']:.2f}x",
            "(info)",
            None,
        )
    report.data["b"] = out


def profile_e2e(report: Report, url: str, n: int) -> None:
    from cfql import connect

    conn = connect(
        token=TOKEN, base_url=url, rate_limit="0", http_client=keepalive_client()
    )
    conn.execute(E2E_CREATE, {"title": "warm"})

    def work() -> None:
        meeting_id = ""
        for i in range(n):
            if i % 2 == 0:
                meeting_id = conn.execute(E2E_CREATE, {"title": f"p {i}"})[0][
                    "meeting_id"
                ]
            else:
                conn.execute(E2E_UPDATE, {"title": f"q {i}", "meeting_id": meeting_id})

    report.data.setdefault("profiles", {})["b_cfql"] = run_profile(
        "b: cfql end to end (subprocess emulator)", work, n
    )
    conn.close()


# ---------------------------------------------------------------------------
# c. A bulk script with 20 ms latency at several concurrencies
# ---------------------------------------------------------------------------


def bulk_script(n: int, tag: str) -> str:
    return "".join(
        f"INSERT INTO {RESOURCE} (account_id, app_id, title) SELECT '{ACC}', '{APP}', 'bulk {tag} {i}'\n"
        "  RETURNING json_extract(data, '$.id') AS meeting_id, success;\n"
        for i in range(n)
    )


def bare_bulk(url: str, statements: int, level: int, tag: str) -> float:
    """The same POSTs from a thread pool of ``level`` over one shared httpx.Client: the ceiling here."""
    from concurrent.futures import ThreadPoolExecutor

    from cfql.http.core import USER_AGENT

    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Authorization": f"Bearer {TOKEN}",
    }
    base = url + MEETINGS_PATH
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=max(20, level))
    with httpx.Client(timeout=60.0, follow_redirects=False, limits=limits) as client:

        def one(i: int) -> bool:
            response = client.post(
                base, json={"title": f"bulk {tag} {i}"}, headers=headers
            )
            response.raise_for_status()
            return response.json()["success"]

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=level) as pool:
            ok = all(pool.map(one, range(statements)))
        elapsed = time.perf_counter() - began
    if not ok:
        raise AssertionError("c: a bare httpx request did not succeed")
    return elapsed


def part_c(report: Report, quick: bool, profile: bool) -> None:
    from cfql import connect
    from cfql.script import runner as script

    statements, latency = (200 if quick else 1000), 0.02
    levels = (1, 8, 32)
    log(
        f"c: {statements}-statement script, emulator latency {latency * 1000:.0f} ms, concurrency {levels}"
    )
    out: dict[str, t.Any] = {
        "statements": statements,
        "latency_s": latency,
        "levels": {},
    }
    with emulator_subprocess(latency=latency) as url:
        for level in levels:
            text = bulk_script(statements, f"c{level}")
            # concurrency on the connection too, as `cfql exec --concurrency N` does: it sizes the keep-alive pool
            with connect(
                token=TOKEN,
                base_url=url,
                rate_limit="0",
                concurrency=level,
                http_client=None,
            ) as conn:
                began = time.perf_counter()
                prepared = script.prepare(conn, text, "<bulk>")
                planned = time.perf_counter()
                results: list[t.Any] = []
                summary = script.run(
                    conn,
                    prepared,
                    on_result=lambda _s, r, out=results: out.append(r),
                    concurrency=level,
                )
                done = time.perf_counter()
            if (
                not summary.ok
                or len(results) != statements
                or not all(r.rows[0]["success"] for r in results)
            ):
                raise AssertionError(
                    f"c: the bulk script at concurrency {level} did not succeed: {summary.describe()}"
                )
            bare = bare_bulk(url, statements, level, f"b{level}")
            ideal = statements * latency / level
            total, run_only = done - began, done - planned
            eff, eff_run, eff_bare = ideal / total, ideal / run_only, ideal / bare
            out["levels"][str(level)] = {
                "ideal_s": round(ideal, 4),
                "wall_s": round(total, 4),
                "prepare_s": round(planned - began, 4),
                "run_s": round(run_only, 4),
                "bare_httpx_threads_s": round(bare, 4),
                "efficiency": round(eff, 3),
                "efficiency_run_only": round(eff_run, 3),
                "efficiency_bare_httpx": round(eff_bare, 3),
            }
            log(
                f"   concurrency {level:2d}: prepare {planned - began:.2f} s + run {run_only:.2f} s "
                f"(ideal {ideal:.2f} s; bare httpx threads {bare:.2f} s)"
            )
            report.add(
                "c",
                f"{statements} inserts @20ms, concurrency {level}",
                f"{total:.2f} s = prepare {planned - began:.2f} + run {run_only:.2f}; ideal {ideal:.2f} s",
                f"{eff:.0%}",
                f">= {TARGETS['c']:.0%}",
                eff >= TARGETS["c"],
            )
            report.add(
                "c",
                f"  concurrency {level}: run only | bare httpx",
                f"run {run_only:.2f} s | httpx {level} threads {bare:.2f} s",
                f"{eff_run:.0%} | {eff_bare:.0%}",
                "(info)",
                None,
            )
    report.data["c"] = out


# ---------------------------------------------------------------------------
# d. Cold start
# ---------------------------------------------------------------------------

COLD_SQL = (
    f"INSERT INTO {RESOURCE} (account_id, app_id, title) SELECT 'acct', 'app', 'Standup' "
    "RETURNING json_extract(data, '$.id') AS meeting_id;"
)


def part_d(report: Report, quick: bool, profile: bool) -> None:
    runs, warmup = (10, 2) if quick else (30, 3)
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "import httpx, sqlglot": [py, "-c", "import httpx, sqlglot"],
        "cfql exec --dry-run": [py, "-m", "cfql", "exec", "--dry-run", COLD_SQL],
        "import cloudflare": [py, "-c", "import cloudflare"],
    }
    env = child_env(CLOUDFLARE_API_TOKEN="bench-not-a-real-token")
    probe = subprocess.run(
        commands["cfql exec --dry-run"],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0 or "POST" not in probe.stdout:
        raise AssertionError(f"d: cfql exec --dry-run failed: {probe.stderr.strip()}")
    hyperfine = shutil.which("hyperfine")
    log(
        f"d: cold start, {runs} runs each after {warmup} warm-up runs ({'hyperfine' if hyperfine else 'subprocess loop'})"
    )
    if hyperfine:
        seconds = _hyperfine(hyperfine, commands, env, runs, warmup)
    else:
        seconds = _loop(commands, env, runs, warmup)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    base = med["import httpx, sqlglot"]
    out = {
        "tool": "hyperfine -N" if hyperfine else "subprocess loop",
        "runs": runs,
        "warmup": warmup,
        "median_ms": {k: round(v * 1000, 2) for k, v in med.items()},
        "spread_pct": {k: round(spread(v), 1) for k, v in seconds.items()},
        "ratio_to_import_httpx_sqlglot": {
            k: round(v / base, 3) for k, v in med.items()
        },
    }
    report.data["d"] = out
    for name, value in med.items():
        ratio = value / base
        is_cfql = name == "cfql exec --dry-run"
        report.add(
            "d",
            f"cold start: {name}",
            f"{value * 1000:.0f} ms median of {runs}",
            f"{ratio:.2f}x",
            f"<= {TARGETS['d']:.1f}x" if is_cfql else "(info)",
            ratio <= TARGETS["d"] if is_cfql else None,
        )


def _hyperfine(
    exe: str,
    commands: dict[str, list[str]],
    env: dict[str, str],
    runs: int,
    warmup: int,
) -> dict[str, list[float]]:
    import shlex

    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "hyperfine.json"
        argv = [
            exe,
            "-N",
            "--style",
            "none",
            "--warmup",
            str(warmup),
            "--runs",
            str(runs),
            "--export-json",
            str(export),
        ]
        for name, cmd in commands.items():
            argv += ["--command-name", name, shlex.join(cmd)]
        subprocess.run(
            argv,
            cwd=REPO,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        data = json.loads(export.read_text())
    return {r["command"]: r["times"] for r in data["results"]}


def _loop(
    commands: dict[str, list[str]], env: dict[str, str], runs: int, warmup: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(warmup):
        for cmd in commands.values():
            subprocess.run(
                cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=True
            )
    for _ in range(runs):  # interleaved, so drift hits every command alike
        for name, cmd in commands.items():
            began = time.perf_counter()
            subprocess.run(
                cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=True
            )
            times[name].append(time.perf_counter() - began)
    return times


# ---------------------------------------------------------------------------
# e. Memory
# ---------------------------------------------------------------------------


# ru_maxrss of a child is no good here: Linux carries the RSS high-water mark of the
# forked copy of *this* process (100+ MB after parts a-c) across exec. VmHWM in
# /proc/self/status belongs to the new image only, so the child reports it at exit.
HWM_WRAPPER = (
    "import atexit, re, sys, runpy\n"
    "def hwm():\n"
    "    text = open('/proc/self/status').read()\n"
    "    sys.stderr.write('VmHWM_KB=' + re.search(r'VmHWM:\\s+(\\d+)', text).group(1) + '\\n')\n"
    "atexit.register(hwm)\n"
    "sys.argv = ['cfql'] + sys.argv[1:]\n"
    "runpy.run_module('cfql', run_name='__main__', alter_sys=True)\n"
)


def peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of ``cfql <args>``, output thrown away."""
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", HWM_WRAPPER, *args],
        check=False,
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - began
    match = re.search(r"VmHWM_KB=(\d+)", proc.stderr)
    if proc.returncode != 0 or match is None:
        raise AssertionError(
            f"e: cfql {' '.join(args[:3])} failed: {proc.stderr.strip()[-500:]}"
        )
    return int(match.group(1)) / 1024, elapsed


def part_e(report: Report, quick: bool, profile: bool) -> None:
    small, big = (200, 2000) if quick else (1000, 10_000)
    log(
        f"e: peak RSS, {small} vs {big} statements (dry run, then against the emulator with -o jsonl)"
    )
    out: dict[str, t.Any] = {
        "small": small,
        "big": big,
        "flat_means": f"growth < {TARGETS['e_pct']:.0f}%",
    }
    env = child_env(CLOUDFLARE_API_TOKEN=TOKEN)
    cli = ["exec"]
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for n in (small, big):
            files[n] = Path(tmp) / f"bulk-{n}.iql"
            files[n].write_text(bulk_script(n, f"e{n}"))
        one, _ = peak_rss_mb(cli + ["--dry-run", COLD_SQL], env)
        out["one_statement_dry_run_mb"] = round(one, 1)
        modes = {"dry run": lambda f: cli + ["-i", str(f), "--dry-run"]}
        with emulator_subprocess() as url:
            modes["emulator -o jsonl"] = lambda f: (
                cli
                + ["-i", str(f), "-o", "jsonl", "--rate-limit", "0", "--base-url", url]
            )
            for mode, argv in modes.items():
                rss_small, sec_small = peak_rss_mb(argv(files[small]), env)
                rss_big, sec_big = peak_rss_mb(argv(files[big]), env)
                growth = rss_big - rss_small
                pct = 100 * growth / rss_small
                out[mode] = {
                    "peak_rss_mb": {
                        str(small): round(rss_small, 1),
                        str(big): round(rss_big, 1),
                    },
                    "seconds": {
                        str(small): round(sec_small, 2),
                        str(big): round(sec_big, 2),
                    },
                    "growth_mb": round(growth, 1),
                    "growth_pct": round(pct, 1),
                    "bytes_per_extra_statement": round(
                        growth * 1024 * 1024 / (big - small)
                    ),
                }
                log(
                    f"   {mode}: {rss_small:.1f} MB -> {rss_big:.1f} MB ({sec_small:.1f} s / {sec_big:.1f} s)"
                )
                report.add(
                    "e",
                    f"peak RSS {small} -> {big} statements, {mode}",
                    f"{rss_small:.0f} -> {rss_big:.0f} MB (+{growth:.1f} MB, "
                    f"{growth * 1024 * 1024 / (big - small) / 1024:.1f} KB/stmt)",
                    f"+{pct:.0f}%",
                    f"< {TARGETS['e_pct']:.0f}%",
                    pct < TARGETS["e_pct"],
                )
        if profile or any(ln.part == "e" and ln.ok is False for ln in report.lines):
            out["tracemalloc_top"] = trace_prepare(files[big])
    report.data["e"] = out


def trace_prepare(path: Path, top: int = 10) -> list[str]:
    """Where a big script's memory goes while it is prepared (tracemalloc): peak, what stays, and by line."""
    import tracemalloc

    from cfql import connect
    from cfql.script import runner as script
    from cfql.sql.dialect import split_statements

    text = path.read_text()
    mb = 1024 * 1024
    with connect(
        token=TOKEN,
        base_url="http://127.0.0.1:9/client/v4",
        rate_limit="0",
        dry_run=True,
    ) as conn:
        gc.collect()
        tracemalloc.start(1)
        texts = [
            sql for sql, _line in split_statements(text)
        ]  # the tokenizer's list for the whole script
        split_peak = tracemalloc.get_traced_memory()[1]
        del texts
        gc.collect()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        before = tracemalloc.take_snapshot()
        prepared = script.prepare(conn, text, path.name)
        peak = tracemalloc.get_traced_memory()[1] - base
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        n = len(prepared.statements)
    stats = after.compare_to(before, "lineno")
    kept = sum(s.size_diff for s in stats)
    lines = [
        f"split_statements() alone peaks at {split_peak / mb:.1f} MB ({split_peak / n:.0f} B/statement)",
        (
            f"prepare() of {n} statements peaks at {peak / mb:.1f} MB ({peak / n:.0f} B/statement) "
            f"and keeps {kept / mb:.1f} MB ({kept / n:.0f} B/statement); what it keeps, by line:"
        ),
    ]
    for stat in stats[:top]:
        frame = stat.traceback[0]
        where = (
            os.path.relpath(frame.filename, REPO)
            if frame.filename.startswith(str(REPO))
            else frame.filename
        )
        lines.append(
            f"{stat.size_diff / mb:7.2f} MB {stat.count_diff:+8d} blocks  {where}:{frame.lineno}"
        )
    print("\n# tracemalloc: " + "\n  ".join(lines))
    return lines


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

PARTS = {"a": part_a, "b": part_b, "c": part_c, "d": part_d, "e": part_e}


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default="a,b,c,d,e",
        help="comma-separated parts to run (default: a,b,c,d,e)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run: fewer iterations, smaller scripts",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print cProfile listings of cfql's own code",
    )
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(
            f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}"
        )

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report = Report()
    machine = machine_info()
    began = time.perf_counter()
    for part in parts:
        part_began = time.perf_counter()
        PARTS[part](report, args.quick, args.profile)
        report.data.setdefault("part_seconds", {})[part] = round(
            time.perf_counter() - part_began, 1
        )
    machine["loadavg_end"] = list(os.getloadavg())
    elapsed = time.perf_counter() - began

    verdicts = [ln.ok for ln in report.lines if ln.ok is not None]
    record = {
        "benchmark": "run",
        "timestamp": stamp,
        "quick": args.quick,
        "parts": parts,
        "seconds": round(elapsed, 1),
        "machine": machine,
        "targets": TARGETS,
        "results": report.data,
        "table": [asdict(ln) for ln in report.lines],
        "passed": sum(verdicts),
        "failed": len(verdicts) - sum(verdicts),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_file = RESULTS / f"run-{stamp}{'-quick' if args.quick else ''}.json"
    out_file.write_text(json.dumps(record, indent=2) + "\n")

    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    load = "/".join(f"{x:.2f}" for x in machine["loadavg_start"])
    print(
        f"\ncfql benchmarks{' (quick)' if args.quick else ''} — {stamp}, {machine['python']}, "
        f"{machine['cpu_count']} x {machine['cpu_model']}, load {load}; {versions}"
    )
    print(report.table())
    print(
        f"\n{record['passed']} passed, {record['failed']} failed in {elapsed:.0f} s. "
        "Medians of repeats; ± is half the min-max range of the repeats (the machine may be shared). "
        "cfql runs with rate_limit=0 (its default 1200/300 pacing would throttle b, c and e)."
    )
    print(f"results: {os.path.relpath(out_file, Path.cwd())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
