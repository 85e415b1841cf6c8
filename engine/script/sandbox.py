"""The Jinja environment ``.iql`` templates render in: no Python, no files, no credentials, bounded.

A template is text from whoever wrote the script, and a rendered template is
sent to an API holding the user's credentials, often under ``--dry-run`` by
someone checking what a script would do. So rendering must not do more than
fill in values:

* Jinja's ``ImmutableSandboxedEnvironment`` refuses ``__class__``,
  ``__globals__`` and every other underscored attribute, and methods that
  change lists and dicts, so ``lipsum.__globals__.os`` is out of reach (and
  ``lipsum`` itself is gone: it has no use in SQL and makes text by the page);
* ``include``/``import``/``extends`` read only files under a folder the user
  named (``FolderLoader``), resolved first, so neither ``..``, an absolute
  path nor a symlink leads out of it;
* ``env`` holds the environment without the variables providers read
  credentials from, and without any whose name looks secret (``looks_secret``);
  asking for one is an error naming it, never its value;
* time and size are bounded (``Limits``): the whole render by a wall clock
  (``Deadline``), the output as it is produced, ``range()`` by its length, and
  each value the template makes — by a call, a filter, an operator or a
  ``namespace`` assignment — by its written-out size, checked *before* the
  operations that multiply sizes (``'x' * n``, ``center(n)``, ``replace``,
  ``join``, ``**``, format widths ...) so that none allocates gigabytes first.
"""

from __future__ import annotations

import ctypes
import itertools
import re
import string
import threading
import time
import typing as t
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from pathlib import Path

import jinja2
from jinja2.runtime import BlockReference, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from cfql.redact import looks_secret


@dataclass(frozen=True)
class Limits:
    """How long a render may take and how large its output and values may grow."""

    seconds: float = 10.0
    output: int = 10_000_000  # characters of the rendered script, and the written-out size of any one value
    range: int = 100_000  # items of one range(), as Jinja's own sandbox allows
    steps: int = 10_000_000  # items all the range() loops of a render may take together


class Refused(Exception):
    """A template asked for something the sandbox does not do; the message says what, in one line."""


class TimedOut(BaseException):
    """Raised into the rendering thread at its deadline.

    A BaseException, so that no ``except Exception`` in Jinja (which folds
    constants that way) can swallow it.
    """


# -- the environment, minus credentials ------------------------------------------------------

class Environ(dict):  # type: ignore[type-arg]
    """``env`` for templates: the environment without credentials; asking for one is refused by name."""

    def __init__(self, environ: Mapping[str, str], hidden: t.Collection[str]):
        withheld = {name for name in environ if name in hidden or looks_secret(name)}
        super().__init__((name, value) for name, value in environ.items() if name not in withheld)
        self._withheld = frozenset(withheld) | frozenset(hidden)

    def __missing__(self, name: str) -> t.NoReturn:
        if isinstance(name, str) and (name in self._withheld or looks_secret(name)):
            raise Refused(f"env.{name} is a credential and is not available to templates")
        raise KeyError(name)


# -- sizes -----------------------------------------------------------------------------------


def weight(value: t.Any, budget: int) -> int:
    """About how many characters ``value`` takes written out; counting stops once past ``budget``.

    Strings count their length, containers one per item plus their items
    (a list holding the same big string twice counts it twice, as JSON
    would write it twice). Walked with iterators, so a long list is never copied.
    """
    total = 0
    pending: list[t.Iterator[t.Any]] = [iter((value,))]
    while pending:
        item = next(pending[-1], _DONE)
        if item is _DONE:
            pending.pop()
            continue
        total += 1
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item)
        elif isinstance(item, Mapping):
            pending.append(itertools.chain.from_iterable(item.items()))
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.append(iter(item))
        elif isinstance(item, (range, BoundedRange)):
            total += len(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3
        if total > budget:
            break
    return total


_DONE = object()


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 12 else 10**12  # Python refuses to convert very long digit runs


def format_width(template: str, args: t.Sequence[t.Any], kwargs: Mapping[str, t.Any]) -> int:
    """The widest field (width or precision) that ``template.format(...)`` or ``template % args`` would write.

    Widths written in the template count, and so do the arguments when the
    template takes widths from them (``%*d``, ``{:{}}``).
    """
    widest = 0
    takes_widths = False
    if "{" in template:
        try:
            specs = [spec or "" for _, _, spec, _ in string.Formatter().parse(template)]
        except ValueError:
            specs = []  # a broken template fails when it is used, with Python's own message
        for spec in specs:
            takes_widths |= "{" in spec
            widest = max([widest, *(_number(run) for run in re.findall(r"\d+", spec))])
    if "%" in template:
        takes_widths |= "*" in template
        for width, precision in re.findall(r"%[-#0 +]*(\d*)(?:\.(\d*))?", template):
            widest = max(widest, _number(width or "0"), _number(precision or "0"))
    if takes_widths:
        given = args[0] if len(args) == 1 and isinstance(args[0], (tuple, Mapping)) else args
        values = list(given.values()) if isinstance(given, Mapping) else list(given)
        values += list(kwargs.values())
        widest = max([widest, *(v for v in values if isinstance(v, int) and not isinstance(v, bool))])
    return widest


# -- the environment -------------------------------------------------------------------------


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with the limits of ``Limits`` checked wherever values are made."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, limits: Limits, loader: jinja2.BaseLoader | None, **options: t.Any):
        super().__init__(loader=loader, **options)
        self.limits = limits
        self.started = time.monotonic()
        self.steps = 0
        self.globals.pop("lipsum", None)
        self.globals["range"] = self._range
        self.globals["namespace"] = bounded_namespace(self)
        self.filters = {name: self._bounded_filter(name, function) for name, function in self.filters.items()}

    def add_filters(self, filters: Mapping[str, t.Callable[..., t.Any]]) -> None:
        """More filters, bounded as Jinja's own are."""
        self.filters.update({name: self._bounded_filter(name, function) for name, function in filters.items()})

    # Each hook checks the clock: a loop that calls anything cannot outlast the limit by much.

    def check_time(self) -> None:
        if time.monotonic() - self.started > self.limits.seconds:
            raise Refused(f"the template ran longer than {self.limits.seconds:g} seconds")

    def check_size(self, value: t.Any, what: str = "a value") -> t.Any:
        if weight(value, self.limits.output) > self.limits.output:
            raise Refused(f"{what} would be larger than {self.limits.output:,} characters")
        return value

    def _range(self, *args: int) -> BoundedRange:
        self.check_time()
        made = range(*args)
        if len(made) > self.limits.range:
            raise Refused(f"range() of {len(made):,} items: at most {self.limits.range:,} are allowed")
        return BoundedRange(made, self)

    def step(self, count: int) -> None:
        """Count ``count`` more loop items against ``Limits.steps`` (and look at the clock)."""
        self.steps += count
        if self.steps > self.limits.steps:
            raise Refused(f"the template's range() loops took more than {self.limits.steps:,} items")
        self.check_time()

    def call(self, context: jinja2.runtime.Context, obj: t.Any, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        self.check_time()
        self._before_method(obj, args, kwargs)
        result = super().call(context, obj, *args, **kwargs)
        self.check_size(result)
        if isinstance(obj, (Macro, BlockReference)) and isinstance(result, str):
            return Rendered(result)  # template output: its values are placed and marked already
        return result

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: t.Any, right: t.Any) -> t.Any:
        self.check_time()
        limit = self.limits.output
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                if isinstance(sized, (str, list, tuple)) and isinstance(times, int) and len(sized) * times > limit:
                    raise Refused(f"repeating a value {times:,} times would make it larger than {limit:,} characters")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right * max(left.bit_length(), 1) > 4 * limit:
                raise Refused(f"{left} ** {right} is too large a number")
        elif operator == "%" and isinstance(left, str):
            self._check_format(left, (right,), {})
        return self.check_size(super().call_binop(context, operator, left, right))

    def _check_format(self, template: str, args: t.Sequence[t.Any], kwargs: Mapping[str, t.Any]) -> None:
        widest = format_width(template, args, kwargs)
        if widest > self.limits.output:
            raise Refused(f"a format width of {widest:,} would make a value larger than {self.limits.output:,} characters")

    def _before_method(self, method: t.Any, args: tuple[t.Any, ...], kwargs: Mapping[str, t.Any]) -> None:
        """Refuse a str method call whose result would be too large, before it is made."""
        bound = getattr(method, "__wrapped__", method)  # str.format comes wrapped by Jinja's sandbox
        owner = getattr(bound, "__self__", None)
        name = getattr(bound, "__name__", "")
        if not isinstance(owner, str):
            return
        limit = self.limits.output
        if name in ("format", "format_map"):
            self._check_format(owner, args, kwargs)
            return
        estimate = _str_method_size(owner, name, args, kwargs)
        if estimate > limit:
            raise Refused(f"str.{name}() would make a value larger than {limit:,} characters")

    def _bounded_filter(self, name: str, function: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """``function`` with its result (and the results it could multiply to) checked against the limits."""

        @wraps(function)  # keeps Jinja's pass_context/pass_environment marks
        def bounded(*args: t.Any, **kwargs: t.Any) -> t.Any:
            self.check_time()
            data = [arg for arg in args if not isinstance(arg, (jinja2.Environment, jinja2.runtime.Context, jinja2.nodes.EvalContext))]
            if data:
                estimate = _filter_size(name, data[0], data[1:], kwargs)
                if estimate > self.limits.output:
                    raise Refused(f"the {name} filter would make a value larger than {self.limits.output:,} characters")
                if name == "format" and isinstance(data[0], str):
                    self._check_format(data[0], data[1:], kwargs)
            return self.check_size(function(*args, **kwargs))

        return bounded


def bounded_join(pieces: t.Iterable[str], limit: int) -> str | None:
    """The pieces a template generates, joined; None as soon as they pass ``limit`` characters (nothing bigger is kept)."""
    kept: list[str] = []
    size = 0
    for piece in pieces:
        size += len(piece)
        if size > limit:
            return None
        kept.append(piece)
    return "".join(kept)


class BoundedRange(Sequence):  # type: ignore[type-arg]
    """What ``range()`` gives templates: a range whose items count against the render's steps.

    ``range(100000)`` nested in ``range(100000)`` is ten billion items; each
    range alone is allowed, but together they stop at ``Limits.steps``.
    """

    _BATCH = 1000

    def __init__(self, items: range, sandbox: Sandbox):
        self._items = items
        self._sandbox = sandbox

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: t.Any) -> t.Any:
        picked = self._items[index]
        return BoundedRange(picked, self._sandbox) if isinstance(picked, range) else picked

    def __iter__(self) -> t.Iterator[int]:
        for start in range(0, len(self._items), self._BATCH):
            batch = self._items[start : start + self._BATCH]
            self._sandbox.step(len(batch))
            yield from batch

    def __reversed__(self) -> t.Iterator[int]:
        return iter(BoundedRange(self._items[::-1], self._sandbox))

    def __contains__(self, value: object) -> bool:
        return value in self._items

    def __repr__(self) -> str:
        return repr(self._items)


class Rendered(str):
    """A macro's or block's output: template text and already-marked values, placed as it is."""

    __slots__ = ()


def bounded_namespace(sandbox: Sandbox) -> type[Namespace]:
    """``namespace()`` whose attributes obey the size limit, so ``ns.s = ns.s ~ ns.s`` cannot double forever.

    A class made per sandbox: Jinja checks ``isinstance(ns, Namespace)`` before
    assigning, and a Namespace keeps no attributes of its own besides its items.
    """

    class BoundedNamespace(Namespace):
        def __setitem__(self, name: str, value: t.Any) -> None:
            sandbox.check_time()
            super().__setitem__(name, sandbox.check_size(value, f"namespace attribute {name!r}"))

    return BoundedNamespace


def _length(value: t.Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple, range, Mapping)) else len(str(value))


def _str_method_size(owner: str, name: str, args: t.Sequence[t.Any], kwargs: Mapping[str, t.Any]) -> int:
    """An upper bound of the length of ``owner.name(*args)`` for the methods that can multiply sizes (else 0)."""
    if name in ("center", "ljust", "rjust", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        return width if isinstance(width, int) else 0
    if name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        return len(owner) + owner.count("\t") * tabsize if isinstance(tabsize, int) else 0
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        return len(owner) + owner.count(args[0]) * len(args[1])
    if name == "join" and args and isinstance(args[0], (str, list, tuple, range)):
        items = args[0]
        return len(owner) * len(items) + (len(items) if isinstance(items, str) else sum(_length(item) for item in items))
    if name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((_length(v) for v in args[0].values() if v is not None), default=1)
        return len(owner) * max(longest, 1)
    return 0


def _filter_size(name: str, value: t.Any, args: t.Sequence[t.Any], kwargs: Mapping[str, t.Any]) -> int:
    """An upper bound of the size of Jinja's filter ``name`` applied to ``value``, where it can multiply (else 0)."""
    if name == "center":
        width = args[0] if args else kwargs.get("width", 80)
        return width if isinstance(width, int) else 0
    if name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        step = width if isinstance(width, int) else _length(width)
        text = str(value) if not isinstance(value, str) else value
        return len(text) + (text.count("\n") + 1) * step
    if name == "replace" and len(args) >= 2:
        text, old, new = str(value), str(args[0]), str(args[1])
        return len(text) + text.count(old) * len(new)
    if name == "join" and isinstance(value, (str, list, tuple, range)):
        separator = args[0] if args else kwargs.get("d", "")
        items = len(value) if isinstance(value, str) else sum(_length(item) for item in value)
        return _length(separator) * len(value) + items
    if name in ("batch", "slice"):
        count = args[0] if args else 0
        return count if isinstance(count, int) else 0
    return 0


# -- files -----------------------------------------------------------------------------------


class FolderLoader(jinja2.BaseLoader):
    """Templates from one folder and below; ``prepare`` turns a file's text into what Jinja compiles."""

    def __init__(self, root: Path, prepare: t.Callable[[str, str], str]):
        self.root = Path(root)
        self.prepare = prepare

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, t.Callable[[], bool]]:
        root = self.root.resolve()
        path = (root / template).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise jinja2.TemplateNotFound(template)
        name = str(self.root / template)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise Refused(f"cannot read {name}: {getattr(error, 'strerror', None) or error}") from None
        return self.prepare(text, name), name, lambda: True


# -- the clock -------------------------------------------------------------------------------


class Deadline:
    """Raise ``TimedOut`` in the current thread if the block runs longer than ``seconds``.

    The hooks of ``Sandbox`` check the clock, but a loop that calls nothing
    (``{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}``) never
    reaches them; so a watchdog thread raises ``TimedOut`` into the rendering
    thread at the deadline (CPython's ``PyThreadState_SetAsyncExc``, delivered
    between two bytecodes), and again every so often until the block ends. On
    leaving, a not yet delivered raise is withdrawn under the same lock, so
    none can arrive after the block.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.thread_id = threading.get_ident()
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.fired = False

    def __enter__(self) -> None:
        threading.Thread(target=self._watch, name="cfql-template-deadline", daemon=True).start()

    def __exit__(self, *exc_info: object) -> None:
        while True:
            try:
                with self.lock:
                    self.finished.set()
                    if self.fired:
                        _raise_in(self.thread_id, None)
                return
            except TimedOut:  # delivered just as the block ended: the watchdog is stopped now
                continue

    def _watch(self) -> None:
        wait = self.seconds
        while not self.finished.wait(wait):
            with self.lock:
                if self.finished.is_set():
                    return
                self.fired = True
                _raise_in(self.thread_id, TimedOut)
            wait = 0.1


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Have ``thread_id`` raise ``exception`` at its next bytecode (None withdraws a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception is not None else None
    )
