"""The test suite stands alone: nothing in it reaches for the shared reference folder.

The reference facts the tests compare cfql with (SQL examples, the SDK's
request shapes, the OpenAPI document) once were read from the ``reference``
folder of a ``shared`` directory beside the working copy. A user who clones the
repository has no such folder, so the facts are copied into tests/data/ and this
module fails if a file under tests/, .ci/ or benchmarks/ names that folder again.
(This module spells the folder's name only through the ``{S}`` placeholder of
its samples, so that it passes its own rule.)

Allowed, and nothing else:

- tests/data/README.md, which documents where the copies came from;
- the provenance line of each data file in tests/data/: the first line of a
  ``.sql``/``.yaml`` file when it is a comment, the top-level ``"_source"``
  line (line 2) of a ``.json`` file;
- the module docstring of a script in tests/data/ (the extraction script's
  usage text).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("tests", ".ci", "benchmarks")
TEXT_SUFFIXES = {".py", ".sh", ".toml", ".yaml", ".yml", ".md", ".cfg", ".ini", ".json", ".sql", ".txt"}
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache"}

# Ways a file can name the folder (OFFENDING below shows each): the two names
# joined by a slash or backslash, quoted or not (a path string, Path arithmetic);
# the two quoted names as os.path.join arguments; a step up into a sibling of
# the repository; Path arithmetic from a .parent / .parents[n] into it.
SHARED_REFERENCE = re.compile(
    r"""shared["']?\s*[/\\]\s*["']?reference"""
    r"""|["']shared["']\s*,\s*["']reference["']"""
    r"""|\.\.[/\\]+shared\b"""
    r"""|\.parents?(?:\[\d+\])?\s*/\s*["']shared["']""",
    re.IGNORECASE,
)


def scanned_files(root: Path) -> list[Path]:
    """The text files under tests/, .ci/ and benchmarks/ (every file of .ci/, whatever its name)."""
    files = []
    for top in SCANNED:
        for path in sorted((root / top).rglob("*")):
            if not path.is_file() or SKIPPED_DIRS & set(path.relative_to(root).parts):
                continue
            if top == ".ci" or path.suffix in TEXT_SUFFIXES:
                files.append(path)
    return files


def allowed_lines(path: Path, rel: Path, lines: list[str]) -> set[int]:
    """1-based numbers of the lines of ``path`` that may name the shared folder."""
    if rel.parts[:2] != ("tests", "data"):
        return set()
    if rel.name == "README.md" and len(rel.parts) == 3:
        return set(range(1, len(lines) + 1))
    if path.suffix in (".sql", ".yaml", ".yml"):
        return {1} if lines and lines[0].startswith(("-- ", "# ")) else set()
    if path.suffix == ".json":
        return {2} if len(lines) > 1 and lines[0] == "{" and lines[1].startswith('  "_source": ') else set()
    if path.suffix == ".py":
        body = ast.parse("\n".join(lines)).body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            return set(range(body[0].lineno, body[0].end_lineno + 1))
    return set()


def offences(root: Path) -> list[str]:
    """'path:line: text' for every line under ``root`` that names the shared folder outside the allowances."""
    found = []
    for path in scanned_files(root):
        rel = path.relative_to(root)
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        allowed = allowed_lines(path, rel, lines)
        for number, line in enumerate(lines, 1):
            if SHARED_REFERENCE.search(line) and number not in allowed:
                found.append(f"{rel}:{number}: {line.strip()}")
    return found


def test_nothing_reads_the_shared_reference_folder() -> None:
    assert offences(REPO) == []


def test_the_scan_covers_tests_ci_and_benchmarks() -> None:
    names = {path.relative_to(REPO).as_posix() for path in scanned_files(REPO)}
    assert {"tests/test_standalone.py", "tests/emulator/conftest.py", ".ci/run", "benchmarks/run.py"} <= names
    assert "tests/data/README.md" in names and "tests/data/realtimekit-openapi-emulated.json" in names


def test_every_data_file_says_where_it_came_from() -> None:
    data = REPO / "tests" / "data"
    readme = (data / "README.md").read_text(encoding="utf-8")
    facts = [p for p in sorted(data.iterdir()) if p.is_file() and p.suffix in (".sql", ".yaml", ".yml", ".json")]
    assert len(facts) >= 3
    for path in facts:
        lines = path.read_text(encoding="utf-8").splitlines()
        (number,) = allowed_lines(path, path.relative_to(REPO), lines)
        assert "copied" in lines[number - 1].lower() or "cut" in lines[number - 1].lower(), path.name
        assert f"`{path.name}`" in readme, f"tests/data/README.md does not list {path.name}"


# The rule itself: each sample, with {S} spelled out, goes into a scratch tree at the given place.
OFFENDING = [
    ("tests/test_x.py", 'REF = REPO.parent / "{S}" / "reference" / "x.json"'),
    ("tests/test_x.py", "REF = REPO.parents[1] / '{S}'"),
    ("tests/test_x.py", 'os.path.join(here, "..", "{S}", "reference")'),
    ("tests/emulator/conftest.py", "# the spec lives in ../{S}"),
    (".ci/run", "cp -r ../{S}/reference ."),
    ("benchmarks/README.md", "Compare with {S}\\reference\\realtimekit-openapi.json."),
    ("tests/data/examples.sql", "-- header\n-- Copied from {S}/reference/meetings-resource.md"),  # not line 1
    ("tests/data/extra.yaml", "key: {S}/reference/x.yaml"),  # line 1 but not a comment
    ("tests/data/x.json", '{\n  "a": 1,\n  "_source": "{S}/reference/x.json"\n}'),  # not line 2
    ("tests/data/x.json", '{\n  "a": {\n    "_source": "{S}/reference/x.json"\n  }\n}'),  # nested
    ("tests/data/tool.py", '"""Doc."""\nSOURCE = "../{S}/reference/x.json"'),  # outside the docstring
    ("tests/data/sub/README.md", "From {S}/reference."),  # only tests/data/README.md is exempt
]
INNOCENT = [
    ("tests/conftest.py", '"""Fixtures shared by every test package."""'),
    ("benchmarks/README.md", "bare httpx over one shared client; the reference numbers"),
    ("tests/test_x.py", "def test_select_keeps_the_reference_error(): ..."),
    ("tests/data/README.md", "Copied from `{S}/reference/`, refresh with ../{S}/reference/x.json."),
    ("tests/data/examples.sql", "-- Copied from {S}/reference/meetings-resource.md, 2026-12.\nSELECT 1;"),
    ("tests/data/x.json", '{\n  "_source": "Copied from {S}/reference/x.json, 2026-12.",\n  "a": 1\n}'),
    ("tests/data/tool.py", '"""Usage:\n\n    tool.py ../{S}/reference/x.json out.json\n"""\nimport sys'),
]


def _tree(tmp_path: Path, rel: str, text: str) -> Path:
    for top in SCANNED:
        (tmp_path / top).mkdir(exist_ok=True)
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text.replace("{S}", "shared") + "\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("rel", "text"), OFFENDING)
def test_the_rule_catches(tmp_path: Path, rel: str, text: str) -> None:
    found = offences(_tree(tmp_path, rel, text))
    assert len(found) == 1 and found[0].startswith(rel + ":"), found


@pytest.mark.parametrize(("rel", "text"), INNOCENT)
def test_the_rule_allows(tmp_path: Path, rel: str, text: str) -> None:
    assert offences(_tree(tmp_path, rel, text)) == []
