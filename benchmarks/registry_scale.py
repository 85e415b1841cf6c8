"""cfql over StackQL's whole published registry: what one statement costs when 36 providers are present.

Needs a copy of the registry's ``providers`` folder (the one holding ``src/``):

    git clone https://github.com/stackql/stackql-provider-registry
    python benchmarks/registry_scale.py --registry stackql-provider-registry/providers [-n 20]

Measured, each in a child process running ``cfql exec --registry DIR "<statement>"``:

* first run of ``SHOW METHODS IN cloudflare.dns.records`` with an empty document cache: wall time,
  peak RSS (the child's own ``VmHWM``) and which documents it read;
* the same after that first run (cache warm): median wall time against ``python -c "import httpx, sqlglot"``,
  interleaved run by run so background load affects both;
* ``SHOW SERVICES IN cloudflare``: which service documents it read (none: the provider document
  lists its services).

Targets (issue 13): cached start within 1.3x of the imports, first run under 3 s, peak RSS under
80 MB, SHOW SERVICES reading no service document. Prints a table and writes
``benchmarks/results/registry_scale-<timestamp>.json``. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from machine import machine_info  # a sibling module: these run as scripts

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

# Runs cfql's CLI, then reports its peak RSS and the provider documents it opened, on stderr's last line.
CHILD = r"""
import json, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].endswith((".yaml", ".json")):
        opened.append(args[0])
sys.addaudithook(hook)
from cfql.cli.main import main
sys.argv = ["cfql", *sys.argv[1:]]
code = main()
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
sys.stderr.write("\n" + json.dumps({"hwm_kb": hwm, "opened": opened}) + "\n")
sys.exit(code)
"""


def run_cfql(registry: Path, statement: str, cache: Path) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "exec", "--registry", str(registry), statement],
        env=env, capture_output=True, text=True, check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"cfql failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    report = json.loads(done.stderr.strip().splitlines()[-1])
    src = str(registry / "src")
    report["documents"] = sorted({p for p in report.pop("opened") if p.startswith(src)})
    report["seconds"] = seconds
    return report


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, default=os.environ.get("CFQL_BENCH_REGISTRY"), help="the registry's providers folder")
    parser.add_argument("-n", type=int, default=20, help="cached runs of each command (default 20)")
    args = parser.parse_args()
    if args.registry is None or not (args.registry / "src" / "cloudflare").is_dir():
        parser.error("--registry must name a providers folder holding src/cloudflare (see this script's docstring)")
    registry = args.registry.resolve()
    statement = "SHOW METHODS IN cloudflare.dns.records"
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = Path(cache_dir)
        first = run_cfql(registry, statement, cache)
        services = run_cfql(registry, "SHOW SERVICES IN cloudflare", Path(tempfile.mkdtemp(dir=cache_dir)))
        env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
        cfql_argv = [sys.executable, "-m", "cfql", "exec", "--registry", str(registry), statement]
        imports_argv = [sys.executable, "-c", "import httpx, sqlglot"]
        for _ in range(3):  # warm .pyc files and the page cache
            timed(cfql_argv, env), timed(imports_argv, env)
        cfql_times, import_times = [], []
        for _ in range(args.n):
            cfql_times.append(timed(cfql_argv, env))
            import_times.append(timed(imports_argv, env))
        cached = run_cfql(registry, statement, cache)
    cfql_ms, import_ms = 1000 * statistics.median(cfql_times), 1000 * statistics.median(import_times)
    ratio = cfql_ms / import_ms
    service_docs = [p for p in services["documents"] if "/services/" in p]
    rows = [
        ("first run (empty cache)", f"{first['seconds']:.2f} s", "< 3 s", first["seconds"] < 3),
        ("first run peak RSS", f"{first['hwm_kb'] / 1024:.1f} MB", "< 80 MB", first["hwm_kb"] < 80 * 1024),
        ("first run documents read", f"{len(first['documents'])} YAML", "(info)", None),
        ("cached start vs import httpx, sqlglot", f"{cfql_ms:.0f} vs {import_ms:.0f} ms = {ratio:.2f}x", "<= 1.3x", ratio <= 1.3),
        ("cached run peak RSS", f"{cached['hwm_kb'] / 1024:.1f} MB", "< 80 MB", cached["hwm_kb"] < 80 * 1024),
        ("SHOW SERVICES IN cloudflare: service documents read", str(len(service_docs)), "0", not service_docs),
    ]
    print(f"{'case':<55} {'measured':<34} {'target':<9} result")
    for case, measured, target, ok in rows:
        print(f"{case:<55} {measured:<34} {target:<9} {'(info)' if ok is None else 'PASS' if ok else 'FAIL'}")
    print("first run read:", ", ".join(str(Path(p).relative_to(registry)) for p in first["documents"]))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    record = {
        "machine": machine_info(),
        "statement": statement,
        "first": first,
        "cached": cached,
        "show_services": services,
        "cached_ms": cfql_times,
        "imports_ms": import_times,
        "ratio": ratio,
    }
    (RESULTS / f"registry_scale-{stamp}.json").write_text(json.dumps(record, indent=1, default=str))
    return 0 if all(ok is not False for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
