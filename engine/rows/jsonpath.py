"""The small JSONPath subset provider documents use: ``$.a.b``, ``$.a[0]``, ``$.a[*].b``, ``$['a-b']``.

Manifests name places in responses this way (the rows under ``objectKey``,
a pagination token, an error message), so the engine reads them without
knowing any provider's envelope. Paths are compiled once and then walked.
"""

from __future__ import annotations

import functools
import re
import typing as t

Step = t.Union[str, int, None]  # a key, an index, or None for "every item"
_STEP = re.compile(r"\.(?P<key>[A-Za-z_$][\w$-]*)|\.\*|\[(?P<index>-?\d+)\]|\[\*\]|\['(?P<quoted>[^']*)'\]")


@functools.lru_cache(maxsize=512)
def compile_path(path: str) -> tuple[Step, ...]:
    """``$.a[*].b`` → ("a", None, "b"); a bare ``a.b`` is read as ``$.a.b``. Raises ValueError when malformed."""
    text = path.strip()
    if not text.startswith("$"):
        text = "$." + text
    steps: list[Step] = []
    position = 1
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise ValueError(f"unsupported JSONPath {path!r} at {text[position:]!r}")
        if match.group("key") is not None:
            steps.append(match.group("key"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        elif match.group("quoted") is not None:
            steps.append(match.group("quoted"))
        else:
            steps.append(None)
        position = match.end()
    return tuple(steps)


def walk(value: t.Any, steps: t.Sequence[str | int]) -> t.Any:
    """The one value key and index ``steps`` reach (``json_extract``'s paths), or None."""
    for step in steps:
        value = _child(value, step)
        if value is None:
            return None
    return value


def find_all(value: t.Any, path: str) -> list[t.Any]:
    """Every non-null value ``path`` reaches in ``value`` (a wildcard may reach several); missing parts reach nothing."""
    found = [value]
    for step in compile_path(path):
        following: list[t.Any] = []
        for node in found:
            if step is not None:
                child = _child(node, step)
                following.extend(() if child is None else (child,))
            elif isinstance(node, list):
                following.extend(item for item in node if item is not None)
            elif isinstance(node, dict):
                following.extend(item for item in node.values() if item is not None)
        found = following
    return found


def _child(node: t.Any, step: str | int) -> t.Any:
    if isinstance(step, int):
        return node[step] if isinstance(node, list) and -len(node) <= step < len(node) else None
    return node.get(step) if isinstance(node, dict) else None


def find_first(value: t.Any, path: str) -> t.Any:
    """The first non-null value ``path`` reaches, or None."""
    found = find_all(value, path)
    return found[0] if found else None


def has_wildcard(path: str) -> bool:
    return None in compile_path(path)
