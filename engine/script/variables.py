"""A script's template variables, from ``--iqldata FILE`` and ``--var NAME=VALUE``.

Kept apart from the template engine so that reading the command line costs a
plain script nothing of it.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from cfql.errors import TemplateError
from cfql.script.sources import read_text
from cfql.sql.values import MAX_JSON_DEPTH, check_depth, load_json


def load_variables(pairs: t.Sequence[str], data_files: str | t.Sequence[str] | None = ()) -> dict[str, t.Any]:
    """Variables from each ``--iqldata FILE`` in turn (later files win), then ``--var key=value`` (which win over all)."""
    if isinstance(data_files, str):
        data_files = [data_files]
    variables: dict[str, t.Any] = {}
    for data_file in data_files or ():
        variables.update(load_data_file(data_file))
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise TemplateError(f"--var {pair!r}: expected NAME=VALUE")
        variables[name.strip()] = value
    return variables


def load_data_file(data_file: str) -> dict[str, t.Any]:
    """One ``--iqldata`` file: a JSON (``.json``) or YAML (anything else) mapping of names to values."""
    text = read_text(data_file, data_file, TemplateError)
    if Path(data_file).suffix.lower() == ".json":
        try:
            loaded = load_json(text)
        except ValueError as error:
            raise TemplateError(f"{data_file}: not valid JSON: {error}") from None
    else:
        loaded = _load_yaml(text, data_file)
    if not isinstance(loaded, dict):
        raise TemplateError(f"{data_file}: must hold a mapping of variable names to values")
    return loaded


def _load_yaml(text: str, data_file: str) -> t.Any:
    """``yaml.safe_load``, bounded: PyYAML recurses once per level, and aliases can repeat a node endlessly."""
    import yaml

    too_deep = f"{data_file}: YAML nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        loaded = yaml.safe_load(text)
    except RecursionError:
        raise TemplateError(too_deep) from None
    except yaml.YAMLError as error:
        raise TemplateError(f"{data_file}: not valid YAML: {str(error).splitlines()[0]}") from None
    except ValueError as error:  # a constructor refusing a value, e.g. a timestamp out of range
        raise TemplateError(f"{data_file}: not valid YAML: {error}") from None
    try:
        check_depth(loaded, "YAML")
    except ValueError as error:
        raise TemplateError(f"{data_file}: {error}") from None
    return loaded
