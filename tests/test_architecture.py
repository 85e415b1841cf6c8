"""The shape of the codebase: one installed package, a documented public surface, no import cycles.

The repository keeps engine/, provider/ and manifests/ at its top; they
install as cfql, cfql.provider and cfql.manifests. These tests read the
source tree and build a real wheel, so a packaging mistake fails here rather
than on a user's machine.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import cfql
import cfql.errors

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"engine": "cfql", "provider": "cfql.provider", "manifests": "cfql.manifests"}


def source_modules() -> dict[str, Path]:
    """Every module of the source tree under the name it installs as."""
    modules = {}
    for folder, package in FOLDERS.items():
        for path in (REPO / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(REPO / folder).with_suffix("").parts if p != "__init__"]
            modules[".".join([package, *parts])] = path
    return modules


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The cfql modules ``name`` imports anywhere: at the top, inside functions, under TYPE_CHECKING."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rsplit(".", 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:  # "from pkg import module" imports the module, not (only) pkg
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_module_imports_itself_round_a_cycle() -> None:
    modules = source_modules()
    graph = {name: imported(name, path, modules) for name, path in modules.items()}
    assert sum(len(targets) for targets in graph.values()) > 100  # the scan does see the imports
    assert find_cycle(graph) is None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_public_surface_is_all_and_resolves() -> None:
    for name in cfql.__all__:
        assert getattr(cfql, name) is not None, name
    assert {"connect", "AsyncConnection", "AsyncCursor", "Result", "Connection", "Cursor"} <= set(cfql.__all__)
    pep249 = ["Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
              "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError"]
    assert set(pep249) <= set(cfql.__all__)
    assert issubclass(cfql.PaginationCapWarning, cfql.Warning) and issubclass(cfql.Warning, Warning)


def test_every_error_class_is_drawn_in_the_error_tree() -> None:
    classes = [value for value in vars(cfql.errors).values() if isinstance(value, type) and issubclass(value, (cfql.Error, cfql.Warning))]
    doc = cfql.errors.__doc__ or ""
    assert len(classes) > 15
    assert [c.__name__ for c in classes if c.__name__ not in doc] == []


def test_python_dash_m_cfql_runs_the_command() -> None:
    done = subprocess.run([sys.executable, "-m", "cfql", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("cfql ")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("cfql-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_cfql_and_its_metadata_only(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert {name.split("/")[0] for name in names} == {"cfql", next(n.split("/")[0] for n in names if ".dist-info/" in n)}
    assert "cfql/py.typed" in names and "cfql/__main__.py" in names
    assert "cfql/manifests/src/cloudflare/v00.00.00000/provider.yaml" in names
    assert "cfql/manifests/src/cloudflare/v00.00.00000/services/realtime_kit.yaml" in names


def test_the_wheel_holds_every_module_of_the_source_tree(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    expected = {
        "/".join([*FOLDERS[folder].split("."), *path.relative_to(REPO / folder).parts])
        for folder in FOLDERS
        for path in (REPO / folder).rglob("*.py")
    }
    assert sorted(expected - names) == []
