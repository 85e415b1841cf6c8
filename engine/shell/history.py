"""Statement history on disk, private and without secrets.

The file (``$XDG_STATE_HOME/cfql/history``) is created with mode 0600 in a
0700 directory, since statements name accounts and meetings. Values of secret
fields — storage credentials, passwords, tokens — are masked before a
statement is written, so recalling a statement never recalls its secret; the
current session's in-memory history keeps the text as typed, so Up-arrow
still helps fix a typo in it.
"""

from __future__ import annotations

import json
import os
import re
import typing as t
from pathlib import Path

from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from cfql.shell import context

MASK = "***"
# A statement mentioning none of these is stored as typed (the fast path).
_MENTION = re.compile(r"storage_config|passw(?:or)?d|secret|private_key|access_key|api_key|token|credential", re.I)
# Names (columns, @params, JSON keys) whose values are secret.
_SECRET_NAME = re.compile(r"passw(?:or)?d|secret|private_key|access_key|api_key|token|credential", re.I)
# ``"key": value`` in text that is not valid JSON (e.g. a literal with a typo).
_KEY_VALUE = re.compile(r'("(?P<key>(?:[^"\\]|\\.)*)"\s*:\s*)(?P<value>"(?:[^"\\]|\\.)*"?|[^\s,}\]{\[]+)')


def redact_for_history(sql: str) -> str:
    """``sql`` with the literals that hold secrets replaced by ``'***'``.

    Two rules, both lexical so they work on statements that do not parse:
    a literal given for a secret-named column or ``@param`` (by ``=``, or by
    position in INSERT ... SELECT/VALUES) is masked whole; in a JSON literal
    (e.g. ``recording_config`` with a ``storage_config``) the values under
    secret-named keys are masked and the rest is kept.
    """
    if not _MENTION.search(sql):
        return sql
    tokens = context.tokenize(sql)
    replacements: dict[int, tuple[context.Token, str]] = {}
    for statement in context.split(tokens):
        for name, token in context.scan(statement).assignments:
            if token.kind in ("string", "number") and _SECRET_NAME.search(name):
                replacements[token.start] = (token, f"'{MASK}'")
    for token in tokens:
        if token.kind == "string" and token.start not in replacements and _MENTION.search(token.value):
            masked = _mask_json_text(token.value)
            if masked != token.value:
                closing = "'" if token.closed else ""
                replacements[token.start] = (token, "'" + masked.replace("'", "''") + closing)
    out, position = [], 0
    for start in sorted(replacements):
        token, text = replacements[start]
        out += [sql[position:start], text]
        position = token.end
    out.append(sql[position:])
    return "".join(out)


def _mask_json_text(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return _KEY_VALUE.sub(_mask_match, text)
    if not isinstance(data, (dict, list)):
        return text
    masked = _mask(data)
    return text if masked == data else json.dumps(masked, ensure_ascii=False)


def _mask(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return {k: MASK if _SECRET_NAME.search(k) and v is not None else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _mask_match(match: re.Match[str]) -> str:
    if _SECRET_NAME.search(match.group("key")):
        return match.group(1) + f'"{MASK}"'
    return match.group(0)


class RedactingFileHistory(FileHistory):
    """A FileHistory whose file is private (0600) and never receives a secret value."""

    def __init__(self, path: Path):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(path, 0o600)  # an older file may have been created wider
        super().__init__(str(path))

    def store_string(self, string: str) -> None:
        super().store_string(redact_for_history(string))


def open_history(path: Path) -> tuple[History, str | None]:
    """The history file, or — if it cannot be created — memory only, with a warning saying why."""
    try:
        return RedactingFileHistory(path), None
    except OSError as error:
        return InMemoryHistory(), f"history is not saved: cannot create {path}: {error.strerror}"
