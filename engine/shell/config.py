"""Shell defaults from ``$XDG_CONFIG_HOME/cfql/config``, as pgcli keeps its own.

An INI file with a ``[main]`` section::

    [main]
    output = table      # table | json | jsonl | csv | text
    vi = false          # vi editing mode instead of emacs
    sandbox = false     # start on the in-process sandbox
    pager = true        # page results taller or wider than the terminal
    timing = false      # print each statement's time
    null_string = <null>  # how a NULL cell is shown (quote it to keep spaces: " ", or "" for nothing)
    expanded = off      # off | on | auto: one "column | value" block per row (\\x); auto when too wide

Command-line flags override the file. A broken file never stops the shell:
each bad line becomes a warning and its default is kept.
"""

from __future__ import annotations

import configparser
import os
import typing as t
from dataclasses import dataclass, fields, replace
from pathlib import Path

from cfql.rows.output import FORMATS

EXPANDED = ("off", "on", "auto")


@dataclass(frozen=True)
class ShellConfig:
    output: str = "table"
    vi: bool = False
    sandbox: bool = False
    pager: bool = True
    timing: bool = False
    null_string: str = "<null>"
    expanded: str = "off"

    def override(self, **values: t.Any) -> ShellConfig:
        """A copy with every value that is not None (an unset command-line flag) replaced."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def _xdg(variable: str, fallback: str, env: t.Mapping[str, str]) -> Path:
    """An XDG base directory; relative values are invalid per the spec and ignored."""
    value = env.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / fallback


def config_path(env: t.Mapping[str, str] = os.environ) -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config", env) / "cfql" / "config"


def history_path(env: t.Mapping[str, str] = os.environ) -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state", env) / "cfql" / "history"


def load_config(path: Path) -> tuple[ShellConfig, list[str]]:
    """The settings in ``path`` (defaults if it does not exist) and a warning per problem found."""
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), interpolation=None)
    warnings: list[str] = []
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as error:
        return ShellConfig(), [f"{path}: {str(error).splitlines()[0]}; using the defaults"]
    if not parser.has_section("main"):
        return ShellConfig(), warnings
    section = parser["main"]
    known = {f.name: f for f in fields(ShellConfig)}
    values: dict[str, t.Any] = {}
    for key in section:
        if key not in known:
            warnings.append(f"{path}: unknown setting {key!r} in [main] (known: {', '.join(known)})")
        elif key == "output":
            value = section[key].strip().lower()
            if value in FORMATS:
                values[key] = value
            else:
                warnings.append(f"{path}: output = {section[key]!r} is not one of {', '.join(FORMATS)}")
        elif key == "null_string":
            values[key] = _unquoted(section[key])
        elif key == "expanded":
            value = section[key].strip().lower()
            value = {"true": "on", "false": "off"}.get(value, value)
            if value in EXPANDED:
                values[key] = value
            else:
                warnings.append(f"{path}: expanded = {section[key]!r} is not one of {', '.join(EXPANDED)}")
        else:
            try:
                values[key] = section.getboolean(key)
            except ValueError:
                warnings.append(f"{path}: {key} = {section[key]!r} is not true or false")
    return ShellConfig(**values), warnings


def _unquoted(value: str) -> str:
    """A string setting: surrounding quotes (either kind) removed, so ``" "`` or ``""`` can be said."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
