"""Who ran a benchmark: the machine and versions written next to every result, so runs can be compared."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import subprocess
import typing as t
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def machine_info() -> dict[str, t.Any]:
    from importlib import metadata

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    cpu_model = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    cfql_version = version("cfql")
    if cfql_version is None:
        match = re.search(
            r'^version\s*=\s*"([^"]+)"',
            (REPO / "pyproject.toml").read_text(),
            re.MULTILINE,
        )
        cfql_version = f"{match.group(1)} (source tree)" if match else None

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], check=False, cwd=REPO, capture_output=True, text=True
            ).stdout.strip()
        except OSError:
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain"))
    return {
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "versions": {
            "cfql": cfql_version,
            "httpx": version("httpx"),
            "sqlglot": version("sqlglot"),
            "cloudflare": version("cloudflare"),
        },
        "git": f"{commit}{'+dirty' if dirty else ''}" if commit else None,
        "loadavg_start": list(os.getloadavg()),
    }
