"""What the sync and async drivers share, free of I/O: where a request goes, what it carries,
whether to retry, and what an answer means.

One ``DriverCore`` per connection. Per provider it keeps an *endpoint* — base
URL, credentials and pacer — built on first use from the provider's documents
(``config.auth``, ``x-cfql-config``) and the connection's settings; under
``--sandbox`` the endpoint is the provider's own emulator, started then.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
import time
import typing as t
from dataclasses import dataclass

import httpx
from cfql.errors import (
    APIError,
    CredentialsError,
    DataError,
    Error,
    InternalError,
    Interrupted,
    NotSent,
    NotSupportedError,
    OperationalError,
    OutcomeUnknownError,
    ProgrammingError,
    api_error,
)
from cfql.http.messages import ApiRequest, ApiResponse, Exchange
from cfql.http.pacing import Pacer, parse_rate_limit
from cfql.http.retry import NEVER_SENT, READS, retry_after_error, retry_after_response
from cfql.plan.plans import StaticPlan
from cfql.provider.loader import FORM
from cfql.provider.model import Method, Provider
from cfql.provider.registry import Registry
from cfql.redact import (
    MASK,
    mask_paths,
    redact_body,
    redact_statement,
    scrub,
    secret_paths,
    secret_strings,
)
from cfql.result import FAILED, NOT_RUN, SUCCEEDED, UNKNOWN, ElementOutcome, Result, describe_outcomes
from cfql.rows.jsonpath import find_all, find_first
from cfql.settings import Settings
from cfql.sql.values import Deferred, load_json

if t.TYPE_CHECKING:
    from cfql.plan.explain import ExplainPlan
    from cfql.plan.plans import Plan
    from cfql.provider.auth import Credentials, Given
    from cfql.provider.sandbox import Sandbox

USER_AGENT = "cfql/0.1.0"
DRY_RUN_COLUMNS = ["method", "url", "headers", "body"]

#: What ``DriverCore.statement`` yields (requests to send at once), receives (their answers, in order; for a
#: batch of changes, what became of each: see ``Settled``) and returns.
Statement = t.Generator[list[ApiRequest], list[t.Any], Result]
#: Most requests of one batch a driver has in flight at once (a SELECT's pages; see ``cfql.plan.pages``).
READS_AT_ONCE = 4
#: What ``DriverCore.attempts`` yields (a pause or a request), receives (a response or an error), returns.
Attempts = t.Generator[float | httpx.Request, httpx.Response | httpx.HTTPError | None, ApiResponse]


@dataclass(eq=False)
class Endpoint:
    """Everything needed to reach one provider: resolved once, then shared by every request."""

    provider: Provider
    base_url: str | None  # set by --base-url, the provider's variable or a sandbox; None: each method's server
    credentials: Credentials | None  # None: credentials are missing (raised when a request needs them)
    missing: str  # why they are missing
    pacer: Pacer
    sandbox: Sandbox | None = None  # the provider's emulator, when --sandbox started one


class DriverCore:
    """URLs, credentials, retry decisions, decoding and dry-run descriptions, for both drivers."""

    def __init__(self, settings: Settings, registry: Registry):
        self.settings = settings
        self.registry = registry
        self.on_pacing_wait: t.Callable[[float], None] | None = None  # e.g. a progress bar's note
        self._endpoints: dict[str, Endpoint] = {}
        self._lock = threading.Lock()
        self._response_secrets: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {}

    # -- endpoints -------------------------------------------------------------------------

    def endpoint(self, method: Method) -> Endpoint:
        name = method.resource_id.split(".", 1)[0]
        found = self._endpoints.get(name)
        if found is None:
            with self._lock:  # concurrent statements must not start two sandboxes
                found = self._endpoints.get(name)
                if found is None:
                    found = self._endpoints[name] = self._open(name)
        return found

    def _open(self, name: str) -> Endpoint:
        from cfql.provider.auth import Given  # auth is loaded with the first endpoint, not with cfql

        provider = self.registry.provider(name)
        if provider is None:  # the planner found it, so this cannot happen
            raise InternalError(f"a plan names provider {name!r}, which the registry does not have")
        conventions = provider.conventions
        settings = self.settings
        if settings.sandbox:
            from cfql.provider.sandbox import sandbox_entry, start_sandbox

            entry = sandbox_entry(name, conventions.sandbox.get("start"))
            if not entry:
                raise NotSupportedError(f"--sandbox: provider {name} has no sandbox (x-cfql-config.sandbox in its provider.yaml)")
            sandbox = start_sandbox(entry)
            given = Given(token=sandbox.token)  # the emulator answers the manifest's own auth, never --auth's
            creds, missing = self._credentials(provider, provider.auth, given, f"provider {name}")
            return Endpoint(provider, sandbox.url.rstrip("/"), creds, missing, self._pacer(None), sandbox)
        env_var = conventions.base_url_env_var
        base_url = self._base_url_for(name) or (os.environ.get(env_var) if env_var else None) or None
        given = Given(token=settings.token, api_key=settings.api_key, email=settings.email)
        override = (settings.auth or {}).get(name)
        auth, origin = (provider.auth, f"provider {name}") if override is None else (override, f"--auth for {name}")
        creds, missing = self._credentials(provider, auth, given, origin)
        limit = settings.rate_limit if settings.rate_limit is not None else conventions.rate_limit
        return Endpoint(provider, base_url.rstrip("/") if base_url else None, creds, missing, self._pacer(limit))

    def _base_url_for(self, provider: str) -> str | None:
        """``--base-url``'s URL for this provider: ``PROVIDER=URL`` names one; a bare URL serves a single provider only."""
        chosen = self.settings.base_urls.get(provider)
        if chosen is not None:
            return chosen
        bare = self.settings.base_urls.get("")
        if bare is None:
            return None
        others = sorted(name for name in self._endpoints if name != provider)
        if others:
            raise ProgrammingError(
                f"--base-url {bare} names no provider, and this session uses {others[0]} and {provider}: "
                f"write --base-url {provider}=URL"
            )
        return bare

    @staticmethod
    def _credentials(
        provider: Provider, auth: t.Mapping[str, t.Any], given: Given, origin: str
    ) -> tuple[Credentials | None, str]:
        """The credentials ``auth`` gives, or why they are missing (raised when a request needs them).

        An auth block cfql cannot send (``aws_signing_v4``, a ``custom`` without
        a ``name`` ...) is refused here, on the first use of the provider: before any request.
        """
        from cfql.provider.auth import AuthConfigError, MissingCredentials, UnsupportedAuth, credentials

        try:
            return credentials(auth, given), ""
        except MissingCredentials as error:
            return None, str(error)
        except UnsupportedAuth as error:
            raise NotSupportedError(f"{error} ({origin}); nothing was sent") from None
        except AuthConfigError as error:
            raise ProgrammingError(f"{error} ({origin}); nothing was sent") from None

    def _pacer(self, limit: str | None) -> Pacer:
        pacer = Pacer(parse_rate_limit(limit))
        pacer.on_wait = lambda seconds: self.on_pacing_wait(seconds) if self.on_pacing_wait else None
        return pacer

    def close_endpoints(self) -> None:
        for endpoint in self._endpoints.values():
            if endpoint.sandbox is not None:
                endpoint.sandbox.stop()
        self._endpoints.clear()

    # -- requests --------------------------------------------------------------------------

    def url(self, request: ApiRequest) -> str:
        """Where the request goes; a next-page address the API gave relative (``/v2/items?page=2``) is resolved
        against the first page's URL."""
        if request.url is not None:
            if httpx.URL(request.url).is_relative_url:
                return str(httpx.URL(self.base_url(request) + request.path).join(request.url))
            return request.url
        return self.base_url(request) + request.path

    def base_url(self, request: ApiRequest) -> str:
        """The endpoint's override, else the method's server URL with its variables filled.

        A variable takes the statement's value, else its ``x-stackQL-envVar``, else its default.
        """
        endpoint = self.endpoint(request.method)
        method = request.method
        sandbox = endpoint.sandbox
        if sandbox is not None and not sandbox.implements(method.http_method, method.path):
            raise NotSupportedError(
                f"--sandbox: {method.resource_id}.{method.name} ({method.http_method} {method.path}) is not in the "
                f"{endpoint.provider.name} sandbox, which serves {sandbox.serves or 'other methods'}"
            )
        if endpoint.base_url is not None:
            return endpoint.base_url
        values: dict[str, str] = {}
        for field_ in method.parameters.values():
            if field_.location != "server":
                continue
            value = request.server.get(field_.name)
            if value is None and field_.env_var:
                value = os.environ.get(field_.env_var) or None
            if value is None and field_.default is not None:
                value = str(field_.default)
            if value is None:
                raise ProgrammingError(f"{method.name}: server variable {field_.name} has no value: add WHERE {field_.name} = '...'")
            values[field_.name] = value
        try:
            return method.base_url.format_map(values).rstrip("/")
        except (KeyError, ValueError, IndexError):
            raise NotSupportedError(f"{method.name}: its server URL {method.base_url!r} names a variable the document does not define") from None

    def headers(self, request: ApiRequest) -> dict[str, str]:
        endpoint = self.endpoint(request.method)
        if endpoint.credentials is None:
            # Only now: a dry run never needs the hint, and finding a sandbox may scan the installed entry points.
            from cfql.provider.sandbox import sandbox_entry

            provider = endpoint.provider
            hint = ", or use --sandbox" if sandbox_entry(provider.name, provider.conventions.sandbox.get("start")) else ""
            raise CredentialsError(endpoint.missing + hint)
        return with_credentials(request.headers, endpoint.credentials.headers)

    def params(self, request: ApiRequest, shown: bool = False) -> t.Any:
        """The query to send (or, ``shown``, to show): the request's, plus a credential the provider puts there.

        httpx replaces a URL's own query by the ``params`` it is given, so a
        next-page link's query is kept by merging the credential into it.
        """
        creds = self.endpoint(request.method).credentials
        extra = (creds.shown_query if shown else creds.query) if creds is not None else {}
        if not extra:
            return request.query or None
        own = httpx.URL(request.url).params if request.url is not None else httpx.QueryParams()
        return own.merge(request.query).merge(extra)

    def build(self, client: httpx.Client | httpx.AsyncClient, request: ApiRequest) -> httpx.Request:
        url = self.url(request)
        if request.url is not None:
            self._same_origin(request, url)
        try:
            form = request.body is not None and request.method.request_media == FORM
            headers = self.headers(request)
            if request.body is not None and not form:
                headers["Content-Type"] = request.method.request_media or "application/json"
            return client.build_request(
                request.http_method,
                url,
                params=self.params(request),
                json=None if form else request.body,
                data=form_fields(request.body) if form else None,
                headers=headers,
            )
        except UnicodeEncodeError as error:  # e.g. a :param value holding half of a UTF-16 surrogate pair
            raise DataError(
                f"{request.method.name}: a value holds {error.object[error.start]!r}, which UTF-8 cannot carry "
                "(half of a UTF-16 surrogate pair?); nothing was sent"
            ) from None

    def _same_origin(self, request: ApiRequest, url: str) -> None:
        """A next-page URL (``url``, resolved) from a response must stay on the provider's host: credentials go with it."""
        base = httpx.URL(self.base_url(request))
        target = httpx.URL(url)
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise OperationalError(
                f"{request.method.name}: the API's next-page link points to {target.scheme}://{target.host}, "
                f"not to {base.host}; not following it"
            )

    def attempts(self, request: ApiRequest, http_request: httpx.Request) -> Attempts:
        """One request's attempts, sans-IO: yields a pause (seconds) or the request to send.

        The driver sleeps for a pause and sends a request, handing back the
        ``httpx.Response`` or the ``httpx.HTTPError`` it got; the generator
        returns the decoded answer, or raises the error the outcome means.
        Pacing comes before each attempt, retries only where they are safe.
        """
        pacer = self.endpoint(request.method).pacer
        attempt = 0
        while True:
            pause = pacer.delay()
            if pause:
                yield pause
            started = time.monotonic()
            outcome = yield http_request
            if isinstance(outcome, httpx.HTTPError):
                wait = self.next_wait(request, attempt, error=outcome)
                if wait is None:
                    self.log(request, type(outcome).__name__)
                    raise self.transport_error(request, outcome, attempt) from None
            else:
                self.log(request, f"{outcome.status_code} in {1000 * (time.monotonic() - started):.0f} ms")
                wait = self.next_wait(request, attempt, response=outcome)
                if wait is None:
                    return self.decode(request, outcome)
            yield wait
            attempt += 1

    def next_wait(
        self, request: ApiRequest, attempt: int, response: httpx.Response | None = None, error: Exception | None = None
    ) -> float | None:
        """Seconds to wait before another attempt, or None when this outcome is final."""
        if attempt >= self.settings.retries:
            return None
        if error is not None:
            wait = retry_after_error(error, request.http_method, attempt)
            if wait is not None:
                self.log(request, f"{type(error).__name__}, retrying in {wait:.2f}s")
            return wait
        assert response is not None
        if response.is_success:
            return None
        return retry_after_response(response, request.http_method, attempt)

    # -- answers ---------------------------------------------------------------------------

    def decode(self, request: ApiRequest, response: httpx.Response) -> ApiResponse:
        """The answer as JSON with secret fields masked, or the error its status maps to."""
        method = request.method
        try:
            payload = load_json(response.content) if response.content else None  # bounded depth: never RecursionError
        except (ValueError, UnicodeDecodeError):
            payload = None
            if response.is_success and changes(request):
                raise OutcomeUnknownError(
                    f"{method.name}: HTTP {response.status_code}, so the change was applied, but the answer is not JSON; "
                    "check its result before re-running"
                ) from None
            if response.is_success:
                raise OperationalError(f"{method.name}: HTTP {response.status_code} with a body that is not JSON") from None
        if not response.is_success:
            raise self._api_error(request, response, payload)
        key = (method.resource_id, method.name)
        paths = self._response_secrets.get(key)
        if paths is None:
            paths = self._response_secrets[key] = secret_paths(method.response_schema, method.secret_names)
        if paths:
            payload = mask_paths(payload, paths)
        return ApiResponse(response.status_code, response.headers, payload)

    def _api_error(self, request: ApiRequest, response: httpx.Response, payload: t.Any) -> APIError:
        endpoint = self.endpoint(request.method)
        conventions = endpoint.provider.conventions
        messages = [
            str(found)
            for path in conventions.error_message_paths
            for found in find_all(payload, path)
            if isinstance(found, (str, int, float)) and not isinstance(found, bool) and str(found)
        ]
        codes = [find_first(payload, path) for path in conventions.error_code_paths]
        code = next((c for c in codes if c is not None), None)
        if messages:
            message = "; ".join(dict.fromkeys(messages))
        elif isinstance(payload, dict) and payload:
            message = json.dumps(payload)[:200]
        else:
            message = response.reason_phrase or "error"
        source = endpoint.credentials.source if endpoint.credentials else ""
        return api_error(
            response.status_code, self.scrub(request, message), code, request.method.name, source, changes(request)
        )

    def transport_error(self, request: ApiRequest, error: Exception, attempt: int) -> OperationalError:
        """The error for a request whose answer never came.

        A change that may have reached the server (anything but a failure to
        connect) has an unknown outcome, and says so: it may have been applied.
        """
        name = request.method.name
        tries = f" after {attempt + 1} attempts" if attempt else ""
        detail = self.scrub(request, str(error)) or "no detail"
        if changes(request) and not isinstance(error, NEVER_SENT):
            if isinstance(error, httpx.TimeoutException):
                what = f"no answer within {self.settings.timeout:g} s"
            else:
                what = f"the connection failed ({type(error).__name__}: {detail})"
            return OutcomeUnknownError(f"{name}: {what} after the request was sent{tries}; {OutcomeUnknownError.ADVICE}")
        if isinstance(error, httpx.TimeoutException):
            return OperationalError(f"{name}: timed out after {self.settings.timeout:g} s{tries}")
        return OperationalError(f"{name}: cannot reach the API{tries} ({type(error).__name__}: {detail})")

    @staticmethod
    def partly_applied(error: Error, applied: int) -> Error:
        """``error`` for a statement whose earlier requests had already changed something.

        Such a statement neither failed nor succeeded: its outcome is unknown
        as a whole, and the message says how much had been applied.
        """
        if applied and not error.outcome_unknown:
            error.outcome_unknown = True
            done = "1 earlier request" if applied == 1 else f"{applied} earlier requests"
            error.args = (f"{error}; {done} of this statement had been applied: check before re-running",)
        return error

    def scrub(self, request: ApiRequest, text: str) -> str:
        """``text`` without any credential or secret value this request carries."""
        endpoint = self._endpoints.get(request.method.resource_id.split(".", 1)[0])
        method = request.method
        secrets = [
            self.settings.token,
            self.settings.api_key,
            *request.secrets,
            *secret_strings(request.body, method.body_fields, method.secret_names),
        ]
        if endpoint is not None:
            if endpoint.base_url:
                secrets.append(httpx.URL(endpoint.base_url).password)  # from --base-url http://user:pw@host
            if endpoint.credentials is not None:
                secrets += endpoint.credentials.secrets
        return scrub(text, secrets)

    def log(self, request: ApiRequest, outcome: str) -> None:
        if self.settings.debug:
            print(f"cfql: {request.http_method} {self.shown_url(request)} -> {outcome}", file=sys.stderr)

    def shown_url(self, request: ApiRequest) -> str:
        """The request's URL as cfql shows it: a password in it (``user:pw@host``) and a credential in its query masked."""
        url = httpx.URL(self.url(request), params=self.params(request, shown=True))
        if url.password:
            url = url.copy_with(username=url.username, password=MASK)
        text = str(url).replace("=%2A%2A%2A", f"={MASK}")  # the mask as written, not percent-encoded
        return scrub(text, request.secrets)  # a secret parameter's value, in each form the path or the query gives it

    # -- dry runs --------------------------------------------------------------------------

    def describe(self, request: ApiRequest) -> dict[str, t.Any]:
        """A request as a dry run shows it: credentials, secret body fields and the values of secret path,
        query and header parameters masked."""
        endpoint = self.endpoint(request.method)
        own = {name: MASK if value in request.secrets else value for name, value in request.headers.items()}
        headers = with_credentials(own, endpoint.credentials.shown if endpoint.credentials else {})
        if request.body is not None:
            headers["Content-Type"] = request.method.request_media or "application/json"
        method = request.method
        body = redact_body(request.body, method.body_fields, method.secret_names) if request.body is not None else None
        return {"method": request.http_method, "url": self.shown_url(request), "headers": headers, "body": body}

    def start(self, plan: Plan, params: t.Mapping[str, t.Any] | None) -> Result | tuple[Exchange, list[ApiRequest]]:
        """Begin ``plan``'s exchange: its first batch of requests, or the Result when nothing is to be sent.

        That is the case for a statement that needs no request, and for a dry
        run, whose Result describes the first batch (values not known yet show
        as ``:name``). Each driver then sends the batches and hands back the answers.
        """
        if self.settings.dry_run or _explains(plan):
            return self.dry_run(plan, params)
        exchange = plan.exchange(named_params(params) or {})
        try:
            batch = next(exchange)
        except StopIteration as done:
            return self.finished(plan, done.value)
        return exchange, batch

    def dry_run(self, plan: Plan, params: t.Mapping[str, t.Any] | None) -> Result:
        """What ``plan`` would send first, described (credentials masked) and not sent, whatever the settings say.

        ``cfql deploy plan`` shows the changes it would make this way on a
        connection whose reads are real.
        """
        params = named_params(params)
        if _explains(plan):
            return self.explain(t.cast("ExplainPlan", plan), params)
        if isinstance(plan, StaticPlan) and plan.dry_run is not None:  # REGISTRY: described, not fetched
            return self.finished(plan, plan.dry_run())
        exchange = plan.exchange({**{name: Deferred(name) for name in plan.bind_names}, **(params or {})})
        try:
            batch = next(exchange)
        except StopIteration as done:
            return self.finished(plan, done.value)
        exchange.close()
        rows = [self.describe(request) for request in batch]
        return self.finished(plan, Result(list(DRY_RUN_COLUMNS), rows, statement=plan.sql, dry_run=True))

    def explain(self, plan: ExplainPlan, params: t.Mapping[str, t.Any] | None) -> Result:
        """EXPLAIN's Result, whatever the settings say: what its plan found, with the requests the
        statement it explains would send first described as ``dry_run`` describes them — nothing is sent.

        Missing credentials are a note, not an error: the requests are described without them.
        On a ``--strict`` connection the statement is checked as strictly as running it would be.
        """
        from cfql.plan.plans import enforce

        params = params or {}
        explained = plan.explained
        requests: list[dict[str, t.Any]] = []
        notes: list[str] = []
        if explained is not None and plan.describes:
            described = self.dry_run(enforce(explained) if self.settings.strict else explained, params)
            requests = described.rows if described.dry_run else []
            method = getattr(explained, "method", None)
            endpoint = self.endpoint(method) if isinstance(method, Method) else None
            if endpoint is not None and endpoint.credentials is None:
                notes.append(f"{endpoint.missing}: the requests are shown without them, and running the statement would fail")
        return self.finished(plan, plan.result(params, requests, notes))

    def statement(self, plan: Plan, params: t.Mapping[str, t.Any] | None) -> Statement:
        """One statement's requests, sans-IO: yields the requests to send at once, receives their answers.

        A batch of reads (a SELECT's next pages) goes to the driver whole: it
        sends them concurrently, at most ``READS_AT_ONCE`` in flight, and hands
        back the ``ApiResponse`` of each in request order — or throws in the
        first cfql error, leaving the rest cancelled or ignored (reads change
        nothing, so nothing is half done). A batch holding a change (a
        statement's requests, one per element) goes to the driver whole too, and
        the driver sends it as ``Window`` says — in order, up to
        ``--concurrency`` at once, none after the first failure — handing back
        what became of each request (``Settled``): its answer, its error, or
        None when it was not sent. A failure then raises the first failed
        element's error, carrying every element's outcome (``_elements_failed``);
        those changes are not undone. The generator returns the Result.
        """
        started = self.start(plan, params)
        if isinstance(started, Result):
            return started
        exchange, batch = started
        applied = 0
        outcomes: list[ElementOutcome] | None = None
        try:
            while True:
                if not any(changes(request) for request in batch):
                    batch = exchange.send(list((yield list(batch))))
                    continue
                settled = t.cast(list[Settled], (yield list(batch)))  # a change batch: see ``Window``
                outcomes = element_outcomes(batch, settled) if len(batch) > 1 else None
                if not all(isinstance(answer, ApiResponse) for answer in settled):  # one failed, or a halt
                    break
                applied += len(batch)
                batch = exchange.send(t.cast(list[ApiResponse], settled))
        except StopIteration as done:
            result = t.cast(Result, done.value)
            if outcomes is not None:
                result.outcomes = outcomes
            return self.finished(plan, result)
        except Error as error:
            raise self.partly_applied(error, applied)
        raise self._elements_failed(exchange, plan, settled, outcomes, applied)

    def _elements_failed(
        self,
        exchange: Exchange,
        plan: Plan,
        settled: list[Settled],
        outcomes: list[ElementOutcome] | None,
        applied: int,
    ) -> Error:
        """The error of a change batch that did not all succeed, carrying what became of each element.

        ``error.result`` holds the rows RETURNING made of the answers that came
        (NULLs where none came) and, when the statement had several elements,
        ``outcomes``; the message says how many succeeded, failed, have an
        unknown outcome or were not run.
        """
        failed = next((answer for answer in settled if isinstance(answer, Error)), None)  # the first element's
        if failed is not None:
            error: Error = failed
        elif not applied and all(answer is None for answer in settled):  # halted before its first request
            error = NotSent("interrupted before it sent anything")
        else:
            error = Interrupted("interrupted: the elements not started were not sent")
        answers = [answer if isinstance(answer, ApiResponse) else None for answer in settled]
        if outcomes is None:
            exchange.close()
            return self.partly_applied(error, applied)
        advice = ""
        if any(answer is not None for answer in answers):
            advice = "; those that succeeded were applied: re-run only the others"
        if advice or any(isinstance(answer, Error) and answer.outcome_unknown for answer in settled):
            error.outcome_unknown = True  # re-running it whole could repeat what was, or may have been, applied
        error.args = (f"{error}; {describe_outcomes(outcomes)}{advice}",)
        try:
            exchange.send(answers)
            exchange.close()  # a change batch is a statement's last: nothing more would be sent
        except StopIteration as done:
            result = t.cast(Result, done.value)
            message = result.message if result.columns else describe_outcomes(outcomes)  # not "despatched successfully"
            error.result = self.finished(plan, dataclasses.replace(result, outcomes=outcomes, message=message))
        return error

    @staticmethod
    def finished(plan: Plan, result: Result) -> Result:
        """The Result as the caller gets it: the secret literals of its statement masked."""
        shown = redact_statement(result.statement, plan)
        return result if shown == result.statement else dataclasses.replace(result, statement=shown)


#: What became of one change request of a batch: its answer, its error, or None when it was not sent.
Settled = ApiResponse | Error | None


class Window:
    """Which requests of a batch to start, sans-IO: in order, at most ``limit`` at once, none after a
    failure, and none once ``halted`` is set (Ctrl-C: the script runner sets it for the run it stops).

    Both drivers send every batch this way: a SELECT's known pages, and the
    changes of a fanned-out statement, each element of which is one change
    as a statement of a script is. The first failure stops the rest from
    starting, the ones in flight finish, and every request's fate is known
    (``settled``; None for one never started). With a limit of 1 the
    requests go one after another.
    """

    def __init__(self, count: int, limit: int, halted: threading.Event | None = None):
        self.settled: list[Settled] = [None] * count
        self._limit = max(1, limit)
        self._halted = halted
        self._next = 0
        self._running = 0
        self._failed = False

    @property
    def _stopped(self) -> bool:
        return self._failed or (self._halted is not None and self._halted.is_set())

    @property
    def can_start(self) -> bool:
        """Whether another request may start now."""
        return not self._stopped and self._next < len(self.settled) and self._running < self._limit

    def start(self, most: int | None = None) -> list[int]:
        """The indexes of the requests that may start now (at most ``most`` of them)."""
        started: list[int] = []
        while self.can_start and (most is None or len(started) < most):
            started.append(self._next)
            self._next += 1
            self._running += 1
        return started

    def finish(self, index: int, outcome: ApiResponse | Error) -> None:
        self.settled[index] = outcome
        self._running -= 1
        self._failed = self._failed or isinstance(outcome, Error)

    @property
    def done(self) -> bool:
        return self._running == 0 and (self._stopped or self._next == len(self.settled))


def element_outcomes(batch: t.Sequence[ApiRequest], settled: t.Sequence[Settled]) -> list[ElementOutcome]:
    """Per element of a fanned-out statement: succeeded, failed, outcome unknown, or not run."""
    outcomes = []
    for request, answer in zip(batch, settled):
        if isinstance(answer, ApiResponse):
            outcomes.append(ElementOutcome(request.element, SUCCEEDED))
        elif answer is None:
            outcomes.append(ElementOutcome(request.element, NOT_RUN))
        else:
            outcomes.append(ElementOutcome(request.element, UNKNOWN if answer.outcome_unknown else FAILED, str(answer)))
    return outcomes


def form_fields(body: t.Mapping[str, t.Any]) -> dict[str, str]:
    """A form body's fields as text: JSON for objects and lists, ``true``/``false`` for booleans."""
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in body.items()
        if value is not None
    }


def with_credentials(headers: t.Mapping[str, str], credentials: t.Mapping[str, str]) -> dict[str, str]:
    """A request's headers with its credentials, which replace a header of the same name in any case."""
    taken = {name.lower() for name in credentials}
    own = {name: value for name, value in headers.items() if name.lower() not in taken}
    return {"User-Agent": USER_AGENT, "Accept": "application/json", **own, **credentials}


def _explains(plan: Plan) -> bool:
    """Whether ``plan`` is EXPLAIN's, told without importing ``cfql.plan.explain`` for every statement."""
    explain = sys.modules.get("cfql.plan.explain")
    return explain is not None and isinstance(plan, explain.ExplainPlan)


def changes(request: ApiRequest) -> bool:
    """Whether the request may change something (every method but the reads)."""
    return request.http_method not in READS


def named_params(params: t.Any) -> t.Mapping[str, t.Any] | None:
    """``params`` checked to be a mapping: cfql's paramstyle is ``named`` (``:name``)."""
    if params is None or isinstance(params, t.Mapping):
        return params
    raise ProgrammingError(
        f"paramstyle is named: pass a mapping such as {{'name': value}}, not a {type(params).__name__}"
    )


def pool_limits(settings: Settings) -> httpx.Limits:
    """Enough kept-alive connections for every concurrent statement to reuse its own."""
    keep = max(20, settings.concurrency)
    return httpx.Limits(max_connections=max(100, keep), max_keepalive_connections=keep)
