"""Reading ``stackql_manifest.yml``: stackql-deploy v2's format, checked, with every entry's line.

A stack file is untrusted input, so it is read with YAML's safe loader,
bounded in depth and expanded size (aliases cannot multiply it), and every
key is checked: a misspelt ``retires`` or ``expots`` is an error naming its
line, not silently ignored as stackql-deploy does.

Placeholders: YAML reads an unquoted ``word_limit: {{ word_limit }}`` as a
flow mapping inside a flow mapping, which has no meaning, and stackql-deploy
cannot load it. The reference page's Manifest block is written that way, so
cfql reads such a node as what its author meant, an ``Unquoted`` template
(its text taken from the document itself) whose value later keeps the type it
has as a YAML scalar, and warns once per line. A quoted ``"{{ x }}"`` stays an
ordinary string, and renders as one.
"""

from __future__ import annotations

import re
import typing as t
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from cfql.errors import StackError, StackWarning
from cfql.script.sources import read_text

MANIFEST_NAME = "stackql_manifest.yml"
RESOURCE_TYPES = ("resource", "query", "multi", "command")
MAX_DEPTH = 64
MAX_NODES = 200_000  # values in the whole manifest once aliases and file() are expanded
#: Names every template of a resource reads besides variables, globals, props and exports.
BUILTIN_NAMES = frozenset({"stack_name", "stack_env", "resource_name", "idempotency_token", "this", "env"})
#: Names no resource or prop may take: the built-in ones, and what Jinja itself defines.
RESERVED_NAMES = BUILTIN_NAMES | {"range", "dict", "lipsum", "cycler", "joiner", "namespace", "true", "false", "none"}


@dataclass(frozen=True)
class Unquoted:
    """An unquoted ``{{ expr }}`` scalar: rendered, then read as a YAML scalar (``500`` a number, ``true`` a boolean)."""

    text: str
    line: int


@dataclass
class Prop:
    name: str
    line: int
    value: t.Any = None
    has_value: bool = False
    values: dict[str, t.Any] = field(default_factory=dict)  # stack env -> value
    merge: list[str] = field(default_factory=list)
    default: t.Any = None
    has_default: bool = False
    description: str = ""


@dataclass
class Global:
    name: str
    line: int
    value: t.Any = None
    description: str = ""


@dataclass
class Resource:
    name: str
    line: int
    type: str = "resource"
    file: str | None = None
    sql: str | None = None
    sql_line: int = 0
    props: list[Prop] = field(default_factory=list)
    exports: list[tuple[str, str]] = field(default_factory=list)  # (column read, name exported)
    protected: list[str] = field(default_factory=list)
    condition: str | None = None  # the ``if`` key
    condition_line: int = 0
    return_vals: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # create/update -> (column, field)
    skip_validation: bool = False
    description: str = ""

    @property
    def export_names(self) -> list[str]:
        return [alias for _, alias in self.exports]


@dataclass
class Stack:
    """A loaded stack: the manifest's contents, where it is, and the lines its entries start on."""

    directory: Path
    name: str
    version: int = 1
    description: str = ""
    providers: list[str] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    exports_line: int = 0
    providers_line: int = 0

    @property
    def manifest(self) -> str:
        return str(self.directory / MANIFEST_NAME)


_TOP = {"version", "name", "description", "providers", "globals", "resources", "exports"}
_RESOURCE = {
    "name", "type", "file", "sql", "props", "exports", "protected", "if", "return_vals",
    "skip_validation", "description",
}
_PROP = {"name", "value", "values", "merge", "description", "default"}
_GLOBAL = {"name", "value", "description"}


def load_stack(directory: str | Path) -> Stack:
    """The stack in ``directory`` (its ``stackql_manifest.yml``), checked; StackError naming the line if it is wrong."""
    directory = Path(directory)
    path = directory / MANIFEST_NAME
    if not directory.is_dir():
        raise StackError(f"{directory}: no such stack folder")
    if not path.is_file():
        raise StackError(f"{directory}: no {MANIFEST_NAME} in the stack folder")
    text = read_text(str(path), str(path), StackError)
    return _stack(directory, parse_yaml(text, str(path)), str(path))


# -- YAML -------------------------------------------------------------------------------------


class _Located(dict):  # type: ignore[type-arg]
    """A mapping that remembers the line of each of its keys (and its own, as ``line``)."""

    line: int = 0
    key_lines: dict[str, int]
    value_lines: dict[str, int]  # where each value's text starts (a ``|`` block: the line after its key)


def parse_yaml(text: str, source: str) -> t.Any:
    """``text`` as YAML with lines kept on every mapping; unquoted placeholders read as ``Unquoted``."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # Dates and times stay text: a stack's values go into SQL and JSON as written.
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    warned: set[int] = set()

    def construct_mapping(loader: Loader, node: yaml.MappingNode) -> t.Any:
        if node.flow_style and node.start_mark.buffer is not None:
            written = node.start_mark.buffer[node.start_mark.index : node.end_mark.index]
            if written.startswith("{{") and written.endswith("}}"):
                line = node.start_mark.line + 1
                if line not in warned:
                    warned.add(line)
                    warnings.warn_explicit(
                        f"{source}:{line}: unquoted {written} is read as a template whose value keeps its YAML type "
                        "(quote it to always get text)",
                        StackWarning,
                        source,
                        line,
                    )
                return Unquoted(written, line)
        mapping = _Located()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines, mapping.value_lines = {}, {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise StackError(f"{source}:{key_node.start_mark.line + 1}: a mapping key must be text")
            mapping[str(key)] = loader.construct_object(value_node, deep=True)
            mapping.key_lines[str(key)] = key_node.start_mark.line + 1
            block = isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">")
            mapping.value_lines[str(key)] = value_node.start_mark.line + 1 + block
        return mapping

    Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
    try:
        loader = Loader(text)
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except RecursionError:
        raise StackError(f"{source}: YAML nested too deeply") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        raise StackError(f"{where}: not valid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise StackError(f"{source}: not valid YAML: {str(error).splitlines()[0]}") from None
    except ValueError as error:
        raise StackError(f"{source}: not valid YAML: {error}") from None
    _check_size(document, source)
    return document


def _check_size(document: t.Any, source: str) -> None:
    """Refuse a document nested past ``MAX_DEPTH`` or holding more than ``MAX_NODES`` values once aliases expand."""
    count = 0
    pending: list[tuple[t.Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        count += 1
        if count > MAX_NODES:
            raise StackError(f"{source}: more than {MAX_NODES:,} values (with aliases expanded)")
        if depth > MAX_DEPTH:
            raise StackError(f"{source}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)


# -- the manifest's entries -------------------------------------------------------------------


def _stack(directory: Path, document: t.Any, source: str) -> Stack:
    if not isinstance(document, _Located):
        raise StackError(f"{source}: the manifest must be a mapping (name:, providers:, resources: ...)")
    _known_keys(document, _TOP, source, "the manifest")
    name = _text(document, "name", source, required=True)
    stack = Stack(directory=directory, name=name)
    version = document.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise StackError(f"{_at(source, document, 'version')}: version must be a whole number")
    stack.version = version
    stack.description = _text(document, "description", source)
    providers = _list(document, "providers", source)
    if not providers:
        raise StackError(f"{_at(source, document, 'providers')}: providers must list the providers the stack uses")
    stack.providers_line = document.key_lines["providers"]
    for index, provider in enumerate(providers):
        if not isinstance(provider, str) or not provider.strip():
            raise StackError(f"{_at(source, document, 'providers')}: providers[{index}] must be a provider name")
    stack.providers = [provider.strip() for provider in providers]
    budget = _Budget()  # one for the whole manifest: naming a big file in many values cannot multiply it
    for entry in _list(document, "globals", source):
        _entry_mapping(entry, source, "a global")
        _known_keys(entry, _GLOBAL, source, "a global")
        value = _included(entry.get("value"), directory, f"{source}:{entry.line}", budget)
        stack.globals.append(Global(_text(entry, "name", source, True), entry.line, value, _text(entry, "description", source)))
    seen: dict[str, int] = {}
    for entry in _list(document, "resources", source):
        resource = _resource(entry, source, directory, budget)
        if resource.name in seen:
            raise StackError(f"{source}:{resource.line}: resource {resource.name!r} is already defined at line {seen[resource.name]}")
        seen[resource.name] = resource.line
        stack.resources.append(resource)
    exports = _list(document, "exports", source)
    for export in exports:
        if not isinstance(export, str):
            raise StackError(f"{_at(source, document, 'exports')}: stack exports must be names")
    stack.exports = list(exports)
    stack.exports_line = document.key_lines.get("exports", 0)
    return stack


def _resource(entry: t.Any, source: str, directory: Path, budget: _Budget) -> Resource:
    _entry_mapping(entry, source, "a resource")
    _known_keys(entry, _RESOURCE, source, "a resource")
    name = _text(entry, "name", source, required=True)
    if not name.isidentifier():
        raise StackError(
            f"{_at(source, entry, 'name')}: resource name {name!r} must be a plain name (letters, digits, _): "
            "templates refer to its exports as name.export"
        )
    if name in RESERVED_NAMES:
        raise StackError(f"{_at(source, entry, 'name')}: {name} cannot name a resource: templates use it for something else")
    resource = Resource(name=name, line=entry.line)
    kind = _text(entry, "type", source) or "resource"
    if kind == "script":
        raise StackError(
            f"{_at(source, entry, 'type')}: resource {name}: type script runs shell commands, which cfql deploy does not do "
            "(a stack file must not be able to run programs)"
        )
    if kind not in RESOURCE_TYPES:
        raise StackError(f"{_at(source, entry, 'type')}: resource {name}: type must be one of {', '.join(RESOURCE_TYPES)}, not {kind!r}")
    resource.type = kind
    resource.file = _text(entry, "file", source) or None
    if resource.file is not None and (Path(resource.file).is_absolute() or ".." in Path(resource.file).parts):
        raise StackError(f"{_at(source, entry, 'file')}: resource {name}: file must be a path inside the stack's resources folder")
    sql = entry.get("sql")
    if sql is not None:
        if not isinstance(sql, str):
            raise StackError(f"{_at(source, entry, 'sql')}: resource {name}: sql must be text")
        if kind not in ("query", "command"):
            raise StackError(f"{_at(source, entry, 'sql')}: resource {name}: inline sql is for query and command resources")
        resource.sql, resource.sql_line = sql, entry.value_lines["sql"]
    resource.description = _text(entry, "description", source)
    for prop_entry in _list(entry, "props", source):
        resource.props.append(_prop(prop_entry, source, name, directory, budget))
    names = [prop.name for prop in resource.props]
    for prop in resource.props:
        if names.count(prop.name) > 1:
            raise StackError(f"{source}:{prop.line}: resource {name}: prop {prop.name!r} is given more than once")
    resource.exports = _renames(entry, "exports", source, name)
    resource.protected = [str(item) for item in _list(entry, "protected", source)]
    for protected in resource.protected:
        if protected not in resource.export_names:
            raise StackError(f"{_at(source, entry, 'protected')}: resource {name}: protected {protected!r} is not one of its exports")
    condition = entry.get("if")
    if condition is not None:
        if not isinstance(condition, (str, bool)):
            raise StackError(f"{_at(source, entry, 'if')}: resource {name}: if must be a condition")
        resource.condition, resource.condition_line = str(condition), entry.key_lines["if"]
    skip = entry.get("skip_validation", False)
    if not isinstance(skip, bool):
        raise StackError(f"{_at(source, entry, 'skip_validation')}: resource {name}: skip_validation must be true or false")
    resource.skip_validation = skip
    return_vals = entry.get("return_vals")
    if return_vals is not None:
        if not isinstance(return_vals, _Located):
            raise StackError(f"{_at(source, entry, 'return_vals')}: resource {name}: return_vals must map create/update to fields")
        _known_keys(return_vals, {"create", "update"}, source, f"return_vals of {name}")
        resource.return_vals = {op: _renames(return_vals, op, source, name) for op in return_vals}
    return resource


def _prop(entry: t.Any, source: str, resource: str, directory: Path, budget: _Budget) -> Prop:
    _entry_mapping(entry, source, "a prop")
    _known_keys(entry, _PROP, source, f"a prop of {resource}")
    prop = Prop(name=_text(entry, "name", source, required=True), line=entry.line)
    if prop.name in RESERVED_NAMES:
        raise StackError(f"{source}:{prop.line}: {prop.name} cannot name a prop of {resource}: templates use it for something else")
    prop.description = _text(entry, "description", source)
    if "value" in entry:
        prop.value, prop.has_value = _included(entry["value"], directory, f"{source}:{prop.line}", budget), True
    values = entry.get("values")
    if values is not None:
        if not isinstance(values, _Located):
            raise StackError(f"{_at(source, entry, 'values')}: prop {prop.name}: values must map each stack env to {{value: ...}}")
        for env, given in values.items():
            if not isinstance(given, _Located) or "value" not in given:
                raise StackError(f"{source}:{values.key_lines[env]}: prop {prop.name}: values.{env} must hold value:")
            _known_keys(given, {"value"}, source, f"values.{env} of prop {prop.name}")
            prop.values[env] = _included(given["value"], directory, f"{source}:{values.key_lines[env]}", budget)
    merge = entry.get("merge")
    if merge is not None:
        if not isinstance(merge, list) or not all(isinstance(item, str) for item in merge):
            raise StackError(f"{_at(source, entry, 'merge')}: prop {prop.name}: merge must list variable names")
        prop.merge = merge
    if "default" in entry:
        prop.default, prop.has_default = entry["default"], True
    if not (prop.has_value or prop.values or prop.merge):
        raise StackError(f"{source}:{prop.line}: prop {prop.name} of {resource} needs value, values or merge")
    return prop


_FILE = re.compile(r"\s*file\(\s*([^()]+?)\s*\)\s*")
MAX_INCLUDES = 8  # file() inside an included file, this many deep


def inside_resources(directory: Path, relative: str, where: str) -> Path:
    """``directory/resources/relative``, refused unless it lies in that folder and the folder in the stack (symlinks resolved)."""
    stack, folder = directory.resolve(), (directory / "resources").resolve()
    path = directory / "resources" / relative
    try:
        folder.relative_to(stack)
        path.resolve().relative_to(folder)
    except ValueError:
        raise StackError(f"{where}: {relative} leads outside the stack's resources folder") from None
    return path


class _Budget:
    """Values made so far while expanding the manifest's file() directives: a file named many times, by itself or by
    many values, cannot multiply them."""

    def __init__(self) -> None:
        self.left = MAX_NODES
        self.read: dict[str, t.Any] = {}  # each file checked and parsed once, however often it is named

    def spend(self, where: str) -> None:
        self.left -= 1
        if self.left < 0:
            raise StackError(f"{where}: more than {MAX_NODES:,} values once file() directives are expanded")


def _included(value: t.Any, directory: Path, where: str, budget: _Budget, depth: int = 0) -> t.Any:
    """stackql-deploy's ``file(path)``: a value that is only that is the JSON or YAML of ``resources/path``."""
    budget.spend(where)
    if isinstance(value, dict):
        return {key: _included(item, directory, where, budget, depth) for key, item in value.items()}
    if isinstance(value, list):
        return [_included(item, directory, where, budget, depth) for item in value]
    match = _FILE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return value
    if depth >= MAX_INCLUDES:
        raise StackError(f"{where}: file() nested more than {MAX_INCLUDES} deep")
    named = match.group(1)
    if named not in budget.read:
        path = inside_resources(directory, named, f"{where}: file()")
        text = read_text(str(path), f"{where}: file({named})", StackError)
        if path.suffix.lower() == ".json":
            from cfql.sql.values import load_json

            try:
                budget.read[named] = load_json(text)
            except ValueError as error:
                raise StackError(f"{path}: not valid JSON: {error}") from None
        else:
            budget.read[named] = parse_yaml(text, str(path))
    return _included(budget.read[named], directory, f"resources/{named}", budget, depth + 1)


def _renames(entry: t.Any, key: str, source: str, resource: str) -> list[tuple[str, str]]:
    """``[a, {b: c}]``: column ``a`` as ``a``, column ``b`` as ``c`` (a mixed list keeps both kinds)."""
    pairs: list[tuple[str, str]] = []
    for item in _list(entry, key, source):
        if isinstance(item, str):
            pairs.append((item, item))
        elif isinstance(item, dict) and len(item) == 1 and all(isinstance(v, str) for v in item.values()):
            (column, alias), = item.items()
            pairs.append((str(column), alias))
        else:
            raise StackError(f"{_at(source, entry, key)}: resource {resource}: {key} items are names or {{column: name}}")
    for _, alias in pairs:
        if not alias.isidentifier():
            raise StackError(f"{_at(source, entry, key)}: resource {resource}: {alias!r} is not a plain name")
    return pairs


def _entry_mapping(entry: t.Any, source: str, what: str) -> None:
    if not isinstance(entry, _Located):
        raise StackError(f"{source}: {what} must be a mapping with a name")


def _known_keys(entry: _Located, known: set[str], source: str, what: str) -> None:
    from cfql.plan.schema import closest

    for key in entry:
        if key not in known:
            guess = closest(key, known)
            hint = f" (did you mean {guess}?)" if guess else ""
            raise StackError(f"{source}:{entry.key_lines.get(key, entry.line)}: {what} has no key {key!r}{hint}")


def _text(entry: _Located, key: str, source: str, required: bool = False) -> str:
    value = entry.get(key)
    if value is None:
        if required:
            raise StackError(f"{source}:{entry.line}: {key} is required")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise StackError(f"{_at(source, entry, key)}: {key} must be text")
    return str(value)


def _list(entry: _Located, key: str, source: str) -> list[t.Any]:
    value = entry.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise StackError(f"{_at(source, entry, key)}: {key} must be a list")
    return value


def _at(source: str, entry: _Located, key: str) -> str:
    return f"{source}:{entry.key_lines.get(key, entry.line)}"
