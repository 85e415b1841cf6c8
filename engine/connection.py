"""The library API: a PEP 249 connection and cursor over a cfql session.

``conn.execute(sql, params)`` returns rows as dicts for scripts and notebooks;
``conn.cursor()`` gives the DB-API interface. Plans are cached by statement
text, so running the same statement again (with other ``:params``) skips
parsing and method resolution entirely.
"""

from __future__ import annotations

import threading
import typing as t

import httpx
from cfql.cursor import ResultCursor
from cfql.errors import InterfaceError, NotSupportedError
from cfql.http.core import named_params
from cfql.http.sync_driver import SyncDriver
from cfql.plan.cache import PlanCache
from cfql.plan.plans import Plan
from cfql.provider.registry import Registry, RegistryError, default_registry
from cfql.result import Result
from cfql.script import runner
from cfql.settings import MAX_CONCURRENCY, Settings, check_count

apilevel = "2.0"
threadsafety = 1
paramstyle = "named"


class Connection:
    """Statements over one sync driver; plans cached per connection."""

    def __init__(
        self,
        settings: Settings | None = None,
        http_client: httpx.Client | None = None,
        registry: Registry | str | None = None,
    ):
        self.settings = settings or Settings()
        self.registry = open_registry(self.settings, registry)
        self.driver = SyncDriver(self.settings, self.registry, http_client)
        self.plans = PlanCache(self.registry, strict=self.settings.strict)
        self.closed = False

    def run(self, sql: str, params: t.Mapping[str, t.Any] | None = None, line_offset: int = 0) -> Result:
        """Run one statement and return its full Result (columns, rows, message)."""
        self._check_open()
        return self.driver.run(self.plans.get(sql, line_offset), params)

    def run_plan(self, plan: Plan, params: t.Mapping[str, t.Any], halted: threading.Event | None = None) -> Result:
        """Run an already prepared plan (a script's statements come this way); ``halted``: see ``SyncDriver.run``."""
        return self.driver.run(plan, params, halted)

    def execute(self, sql: str, params: t.Mapping[str, t.Any] | None = None) -> list[dict[str, t.Any]]:
        """Run one statement; its rows as dicts (empty for statements without RETURNING)."""
        return self.run(sql, params).rows

    def executescript(
        self,
        text: str,
        params: t.Mapping[str, t.Any] | None = None,
        variables: t.Mapping[str, t.Any] | None = None,
        source: str = "<script>",
        concurrency: int | None = None,
    ) -> list[Result]:
        """Run ``;``-separated statements (templates rendered with ``variables``); one Result each.

        Everything is resolved before the first request; RETURNING columns feed
        later ``:params``. A failing statement raises its own error class,
        located in the script (``source``, ``line``) and saying how many ran.
        """
        prepared, params, concurrency = prepare_script(self, text, params, variables, source, concurrency)
        results: list[Result] = []
        runner.run(
            self,
            prepared,
            params,
            on_result=lambda _statement, result: results.append(result),
            concurrency=concurrency,
        )
        return results

    def cursor(self) -> Cursor:
        self._check_open()
        return Cursor(self)

    def commit(self) -> None:
        """Every statement takes effect when it runs; there is nothing to commit."""

    def rollback(self) -> None:
        raise NotSupportedError("API calls take effect at once and cannot be rolled back")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.driver.close()

    def _check_open(self) -> None:
        if self.closed:
            raise InterfaceError("the connection is closed")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def prepare_script(
    conn: t.Any,
    text: str,
    params: t.Mapping[str, t.Any] | None,
    variables: t.Mapping[str, t.Any] | None,
    source: str,
    concurrency: int | None,
) -> tuple[runner.Script, t.Mapping[str, t.Any] | None, int]:
    """What ``executescript`` runs, sync or async: the prepared script, its checked parameters and concurrency."""
    conn._check_open()
    params = named_params(params)
    if concurrency is not None:
        try:
            check_count(concurrency, 1, MAX_CONCURRENCY)
        except (TypeError, ValueError) as error:
            raise InterfaceError(f"concurrency {error}") from None
    prepared = runner.prepare(conn, text, source, variables, params=(params or {}).keys())
    return prepared, params, concurrency or conn.settings.concurrency


class Cursor(ResultCursor):
    """PEP 249 cursor; ``description`` follows the columns of the last statement."""

    def __init__(self, connection: Connection):
        super().__init__()
        self.connection = connection

    def execute(self, sql: str, params: t.Mapping[str, t.Any] | None = None) -> Cursor:
        self._check_open()
        self._load(self.connection.run(sql, params))
        return self

    def executemany(self, sql: str, seq_of_params: t.Iterable[t.Mapping[str, t.Any]]) -> Cursor:
        self._check_open()
        self._load_many(sql, [self.connection.run(sql, params) for params in seq_of_params])
        return self

    def fetchone(self) -> tuple[t.Any, ...] | None:
        return self._fetchone()

    def fetchmany(self, size: int | None = None) -> list[tuple[t.Any, ...]]:
        return self._fetchmany(size)

    def fetchall(self) -> list[tuple[t.Any, ...]]:
        return self._fetchall()

    def __iter__(self) -> t.Iterator[tuple[t.Any, ...]]:
        return iter(self.fetchone, None)

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(
    *,
    token: str | None = None,
    api_key: str | None = None,
    email: str | None = None,
    base_url: str | None = None,
    sandbox: bool = False,
    timeout: float = 60.0,
    retries: int = 2,
    rate_limit: str | None = None,
    concurrency: int = 1,
    dry_run: bool = False,
    debug: bool = False,
    strict: bool = False,
    auth: t.Mapping[str, t.Mapping[str, t.Any]] | str | None = None,
    registry: Registry | str | None = None,
    provider_versions: t.Mapping[str, str] | None = None,
    http_client: httpx.Client | None = None,
) -> Connection:
    """Open a connection; credentials default to the environment variables the manifest names.

    ``rate_limit`` is ``"N/SECONDS"`` or ``"0"`` for none; None means each provider's own budget.
    ``strict`` refuses values outside the enums and bounds of provider documents cfql does not ship,
    as it always does for its own; by default they are sent with a ``cfql.SchemaWarning``.
    ``auth`` is StackQL's ``--auth``: a mapping (or its JSON text) of an auth block per provider,
    replacing that provider's ``config.auth``, e.g. ``{"okta": {"type": "api_key", "valuePrefix":
    "SSWS ", "credentialsenvvar": "OKTA_SECRET_KEY"}}``; None means ``$CFQL_AUTH``, if set.
    ``registry`` is StackQL's ``--registry``: a folder in its layout, a ``file://`` URL, its JSON form,
    or a ``Registry``; None means ``$CFQL_REGISTRY``, else the shipped providers.
    ``provider_versions`` pins versions by provider name (the latest present is used otherwise).
    """
    settings = Settings(
        token=token,
        api_key=api_key,
        email=email,
        base_url=base_url,
        sandbox=sandbox,
        timeout=timeout,
        retries=retries,
        rate_limit=rate_limit,
        concurrency=concurrency,
        dry_run=dry_run,
        debug=debug,
        strict=strict,
        auth=auth,
        registry=registry if isinstance(registry, str) else None,
        provider_versions=provider_versions,
    )
    return Connection(settings, http_client=http_client, registry=registry if isinstance(registry, Registry) else None)


def open_registry(settings: Settings, given: Registry | str | None = None) -> Registry:
    """The registry a connection reads: the one given, else ``settings.registry``, else the process default."""
    if isinstance(given, Registry):
        return given
    option = given or settings.registry
    if option is None and not settings.provider_versions:
        return default_registry()
    try:
        if option is None:
            return Registry(default_registry().root, versions=settings.provider_versions)
        return Registry.from_option(str(option), versions=settings.provider_versions or {})
    except RegistryError as error:
        raise InterfaceError(str(error)) from None
