"""``cfql deploy``: stackql-deploy stacks (``stackql_manifest.yml`` + ``resources/*.iql``), run in-process.

    import cfql.deploy
    result = cfql.deploy.build("my-stack", "dev", variables={"title": "Standup"}, sandbox=True)
    for outcome in result.resources:
        print(outcome.name, outcome.action)

``build`` creates what is missing and updates what drifted, ``test`` only
reads and checks, ``teardown`` removes in reverse order, ``plan`` reads and
says what ``build`` would change (with the exact requests). Each returns a
``DeployResult``: one ``ResourceOutcome`` per resource, ``ok``, ``exit_code``.
A stack whose files are wrong raises ``StackError`` before anything is sent.
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

from cfql.deploy.lifecycle import COMMANDS, ON_FAILURE, DeployResult, Deployment, ResourceOutcome, Step
from cfql.deploy.manifest import Stack, load_stack
from cfql.errors import StackError, StackWarning
from cfql.deploy.starter import init

__all__ = [
    "COMMANDS",
    "ON_FAILURE",
    "DeployResult",
    "ResourceOutcome",
    "Stack",
    "StackError",
    "StackWarning",
    "Step",
    "build",
    "init",
    "load_env_file",
    "load_stack",
    "plan",
    "run",
    "teardown",
    "test",
]


def run(
    command: str,
    stack_dir: str | os.PathLike[str],
    stack_env: str = "dev",
    *,
    variables: t.Mapping[str, t.Any] | None = None,
    env_file: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    show_queries: bool = False,
    on_failure: str = "error",
    output_file: str | os.PathLike[str] | None = None,
    connection: t.Any = None,
    echo: t.Callable[[str], None] | None = None,
    **connect_options: t.Any,
) -> DeployResult:
    """Run ``command`` (build, test, teardown or plan) on the stack in ``stack_dir``.

    ``variables`` (like ``-e NAME=VALUE``) win over ``env_file`` (a dotenv
    file). ``connection`` is a ``cfql.Connection`` to run on; otherwise one is
    opened with ``connect_options`` (``sandbox=True``, ``base_url=...``,
    ``retries=...``, ``registry=...`` as ``cfql.connect`` takes them) and
    closed afterwards. ``echo`` receives each line of progress. With
    ``output_file``, a build or test that succeeds writes the stack's exports
    there as JSON (protected values masked).
    """
    from cfql.connection import connect

    stack = load_stack(stack_dir)
    if output_file is not None:
        _check_writable(Path(output_file))
    given = {**(load_env_file(env_file) if env_file is not None else {}), **(variables or {})}
    conn = connection if connection is not None else connect(dry_run=dry_run, **connect_options)
    try:
        deployment = Deployment(
            stack, conn, stack_env, given, dry_run=dry_run, show_queries=show_queries, on_failure=on_failure, echo=echo
        )
        result = deployment.run(command)
    finally:
        if connection is None:
            conn.close()
    if output_file is not None and command in ("build", "test") and result.ok and not dry_run:
        _write_exports(Path(output_file), result.exports)
    return result


def build(stack_dir: str | os.PathLike[str], stack_env: str = "dev", **options: t.Any) -> DeployResult:
    """Create what is missing, update what drifted (``run("build", ...)``)."""
    return run("build", stack_dir, stack_env, **options)


def test(stack_dir: str | os.PathLike[str], stack_env: str = "dev", **options: t.Any) -> DeployResult:
    """Check, reading only, that every resource exists as declared (``run("test", ...)``)."""
    return run("test", stack_dir, stack_env, **options)


def teardown(stack_dir: str | os.PathLike[str], stack_env: str = "dev", **options: t.Any) -> DeployResult:
    """Delete the stack's resources in reverse order; what is already gone is skipped (``run("teardown", ...)``)."""
    return run("teardown", stack_dir, stack_env, **options)


def plan(stack_dir: str | os.PathLike[str], stack_env: str = "dev", **options: t.Any) -> DeployResult:
    """Read only, and say per resource create, update or no change, with the requests build would send."""
    return run("plan", stack_dir, stack_env, **options)


test.__test__ = False  # type: ignore[attr-defined]  # pytest: a deploy command, not a test


def load_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """A dotenv file: ``NAME=VALUE`` lines (``export`` allowed, ``#`` comments, values optionally quoted)."""
    from cfql.script.sources import read_text

    text = read_text(str(path), str(path), StackError)
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise StackError(f"{path}:{number}: expected NAME=VALUE")
        value = value.strip()
        if value[:1] in ("'", '"') and value[0] in value[1:]:  # quoted: up to its closing quote, a comment after it
            value = value[1 : value.index(value[0], 1)]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name] = value
    return values


def _check_writable(path: Path) -> None:
    """Refuse, before anything is sent, an output file that could not be written afterwards."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise StackError(f"--output-file {path}: cannot be written (its folder {folder} is not a writable folder)")


def _write_exports(path: Path, exports: t.Mapping[str, t.Any]) -> None:
    """The stack's exports as JSON, readable by the user only, replacing any earlier file whole."""
    import json
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(exports, file, indent=2, ensure_ascii=False)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
