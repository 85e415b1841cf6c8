"""The suite reads nothing beside the clone: a user who clones the repository has only the repository.

Every file the test process opens passes ``sys.addaudithook``; one in the
clone's parent folder but outside the clone itself (a sibling folder, a file
next to the clone) is recorded, and ``tests/conftest.py`` fails the run when
any was. What legitimately lives around a clone passes: the Python
environment (a virtualenv next to the clone included), temporary files, and
the user's cache and configuration folders. The facts the tests need are in
tests/data/.
"""

from __future__ import annotations

import os
import sys
import tempfile
import typing as t
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])


def usual_places(repo: str = REPO) -> tuple[str, ...]:
    """Folders a test may read outside the clone: the interpreter's, imports', temporary and per-user ones.

    A folder that holds the clone's parent (the clone may live in the
    temporary folder, or in the home folder) cannot excuse what lies beside
    the clone, so it is left out; pytest's own temporary folder stays in.
    """
    home = os.path.expanduser("~")
    temp = tempfile.gettempdir()
    places = [sys.prefix, sys.base_prefix, sys.exec_prefix, temp, *sys.path]
    places += [os.path.join(home, name) for name in (".cache", ".config", ".local")]
    places.append(os.path.join(temp, f"pytest-of-{_user()}"))
    parent = os.path.dirname(repo) + os.sep
    return tuple(
        os.path.abspath(p) for p in places if p and not parent.startswith(os.path.abspath(p).rstrip(os.sep) + os.sep)
    )


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name to be had: pytest then names its folder differently anyway
        return "unknown"


def beside_the_clone(path: str, repo: str = REPO, allowed: t.Sequence[str] = ()) -> bool:
    """Whether ``path`` lies next to the clone ``repo`` (in its parent folder, not in the clone or ``allowed``)."""
    full = os.path.abspath(path)
    if not full.startswith(os.path.dirname(repo) + os.sep):
        return False
    return not any(full == root or full.startswith(root + os.sep) for root in (repo, *allowed))


class Reads:
    """Files opened beside the clone, collected by an audit hook (which cannot be removed, so it stays cheap)."""

    def __init__(self) -> None:
        self.beside: list[str] = []
        self.allowed = usual_places()

    def __call__(self, event: str, args: tuple[t.Any, ...]) -> None:
        if event != "open" or not args or not isinstance(args[0], (str, os.PathLike)):
            return
        path = os.fspath(args[0])
        if beside_the_clone(path, REPO, self.allowed):
            self.beside.append(path)
