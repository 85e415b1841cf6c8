"""A script's template variables, from ``--iqldata FILE`` and ``--var NAME=VALUE``.

Kept apart from the template engine so that reading the command line costs a
plain script nothing of it.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from cfql.errors import TemplateError


def load_variables(pairs: t.Sequence[str], data_file: str | None) -> dict[str, t.Any]:
    """Variables from ``--iqldata FILE`` (JSON or YAML), then ``--var key=value`` (which win)."""
    variables: dict[str, t.Any] = {}
    if data_file:
        path = Path(data_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise TemplateError(f"cannot read {data_file}: {error.strerror}") from None
        try:
            if path.suffix.lower() == ".json":
                loaded = json.loads(text)
            else:
                import yaml

                loaded = yaml.safe_load(text)
        except ValueError as error:
            raise TemplateError(f"{data_file}: not valid JSON: {error}") from None
        except Exception as error:  # yaml.YAMLError, without importing yaml up front
            raise TemplateError(f"{data_file}: not valid YAML: {str(error).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise TemplateError(f"{data_file}: must hold a mapping of variable names to values")
        variables.update(loaded)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise TemplateError(f"--var {pair!r}: expected NAME=VALUE")
        variables[name.strip()] = value
    return variables
