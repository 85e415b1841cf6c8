"""Sending plans' requests over one pooled httpx client and turning answers into rows.

One Session per connection: it owns the HTTP client, the credentials and the
base URL, so plans stay free of any connection state and can be shared.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import typing as t

import httpx

from cfql.errors import APIError, CredentialsError, OperationalError
from cfql.http.pacing import Pacer, parse_rate_limit
from cfql.http.retry import retry_after_error, retry_after_response
from cfql.plan.plans import ApiRequest, CallPlan
from cfql.provider.auth import MissingCredentials, auth_headers
from cfql.provider.registry import Registry
from cfql.redact import mask_paths, redact_body, scrub, secret_paths, secret_strings
from cfql.result import DESPATCHED, Result
from cfql.settings import Settings

USER_AGENT = "cfql/0.1.0"
DRY_RUN_COLUMNS = ["method", "url", "headers", "body"]


class SessionCore:
    """What sync and async sessions share: URLs, credentials, retry decisions, decoding, projection."""

    def __init__(self, settings: Settings, registry: Registry, pacer: Pacer | None = None):
        self.settings = settings
        self.registry = registry
        self.pacer = pacer or Pacer(parse_rate_limit(settings.rate_limit))
        self._headers: dict[str, dict[str, str]] = {}
        self._base_urls: dict[str, str] = {}
        self._response_secrets: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {}

    def project(self, plan: CallPlan, answers: t.Iterable[tuple[ApiRequest, t.Any]]) -> Result:
        """Rows from the answers, by the plan's RETURNING; without one, only the despatch message."""
        projection = plan.projection
        if projection is None:
            return Result([], [], message=DESPATCHED, statement=plan.sql)
        rows: list[dict[str, t.Any]] = []
        columns: list[str] = list(projection.names)
        for request, payload in answers:
            for obj in row_objects(payload, request.method.object_key):
                if projection.star and not columns:
                    columns = projection.columns_for(obj)
                rows.append(projection.row(obj))
        return Result(columns, rows, statement=plan.sql)

    def next_wait(
        self, request: ApiRequest, attempt: int, response: httpx.Response | None = None, error: Exception | None = None
    ) -> float | None:
        """Seconds to wait before another attempt, or None when this outcome is final."""
        if attempt >= self.settings.retries:
            return None
        if error is not None:
            wait = retry_after_error(error, request.http_method, attempt)
            if wait is not None:
                self._log(request, f"{type(error).__name__}, retrying in {wait:.2f}s")
            return wait
        assert response is not None
        if response.is_success:
            return None
        return retry_after_response(response, request.http_method, attempt)

    def build(self, client: httpx.Client | httpx.AsyncClient, request: ApiRequest) -> httpx.Request:
        return client.build_request(
            request.http_method,
            self.url(request),
            params=request.query or None,
            json=request.body,
            headers=self.headers(request),
        )

    def decode(self, request: ApiRequest, response: httpx.Response) -> t.Any:
        try:
            payload = decode_response(response, request.method.name)
        except APIError as error:
            raise APIError(
                error.status, self._scrub(request, error.api_message), code=error.code, method=request.method.name
            ) from None
        key = (request.method.resource_id, request.method.name)
        paths = self._response_secrets.get(key)
        if paths is None:
            paths = self._response_secrets[key] = secret_paths(request.method.response_schema)
        return mask_paths(payload, paths) if paths else payload

    def transport_error(self, request: ApiRequest, error: Exception, attempt: int) -> OperationalError:
        tries = f" after {attempt + 1} attempts" if attempt else ""
        if isinstance(error, httpx.TimeoutException):
            return OperationalError(f"{request.method.name}: timed out after {self.settings.timeout:g} s{tries}")
        detail = self._scrub(request, str(error))
        return OperationalError(f"{request.method.name}: cannot reach the API{tries} ({type(error).__name__}: {detail})")

    def _scrub(self, request: ApiRequest, text: str) -> str:
        secrets = [self.settings.token, self.settings.api_key, *secret_strings(request.body, request.method.body_fields)]
        return scrub(text, secrets)

    def _log(self, request: ApiRequest, outcome: str) -> None:
        if self.settings.debug:
            print(f"cfql: {request.http_method} {self.url(request)} -> {outcome}", file=sys.stderr)

    def url(self, request: ApiRequest) -> str:
        return self.base_url(request.method.resource_id, request.method.base_url) + request.path

    def base_url(self, resource_id: str, manifest_url: str) -> str:
        provider_name = resource_id.split(".", 1)[0]
        cached = self._base_urls.get(provider_name)
        if cached is None:
            provider = self.registry.provider(provider_name)
            env_var = provider.conventions.base_url_env_var if provider else None
            cached = (
                self.settings.base_url
                or (os.environ.get(env_var) if env_var else None)
                or manifest_url
            ).rstrip("/")
            self._base_urls[provider_name] = cached
        return cached

    def headers(self, request: ApiRequest) -> dict[str, str]:
        provider_name = request.method.resource_id.split(".", 1)[0]
        headers = self._headers.get(provider_name)
        if headers is None:
            provider = self.registry.provider(provider_name)
            try:
                credentials = auth_headers(
                    provider.auth if provider else {},
                    token=self.settings.token,
                    api_key=self.settings.api_key,
                    email=self.settings.email,
                )
            except MissingCredentials as error:
                raise CredentialsError(f"{error}, or use --sandbox") from None
            headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **credentials}
            self._headers[provider_name] = headers
        return headers

    def describe(self, request: ApiRequest) -> dict[str, t.Any]:
        """A request as a dry run shows it: credentials and secret body fields redacted."""
        try:
            headers = dict(self.headers(request))
        except CredentialsError:
            headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        for name in headers:
            if name.lower() in ("authorization", "x-auth-key"):
                headers[name] = "Bearer ***" if name.lower() == "authorization" else "***"
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        url = str(httpx.URL(self.url(request), params=request.query or None))
        body = redact_body(request.body, request.method.body_fields) if request.body is not None else None
        return {"method": request.http_method, "url": url, "headers": headers, "body": body}


class Session(SessionCore):
    """Sends requests over one pooled httpx.Client, with retries and pacing."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        http_client: httpx.Client | None = None,
        pacer: Pacer | None = None,
    ):
        super().__init__(settings, registry, pacer)
        self._client = http_client
        self._client_lock = threading.Lock()
        self._owns_client = http_client is None
        self.sleep: t.Callable[[float], None] = time.sleep

    @property
    def client(self) -> httpx.Client:
        """Created on first use: building the TLS context costs more than a dry run does in all.

        Concurrent statements reach this at once; the lock makes sure they share
        one client (a discarded one would close its sockets under another thread).
        """
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = httpx.Client(
                        timeout=self.settings.timeout, follow_redirects=False, limits=pool_limits(self.settings)
                    )
        return self._client

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()

    def run_call(self, plan: CallPlan, params: t.Mapping[str, t.Any]) -> Result:
        requests = plan.requests(params)
        if self.settings.dry_run:
            return Result(DRY_RUN_COLUMNS, [self.describe(r) for r in requests], statement=plan.sql)
        return self.project(plan, [(r, self.send(r)) for r in requests])

    def send(self, request: ApiRequest) -> t.Any:
        """Send one request (retrying where safe) and return its decoded JSON, or raise a cfql error."""
        http_request = self.build(self.client, request)
        attempt = 0
        while True:
            pause = self.pacer.delay()
            if pause:
                self.sleep(pause)
            started = time.monotonic()
            try:
                response = self.client.send(http_request)
            except httpx.HTTPError as error:
                wait = self.next_wait(request, attempt, error=error)
                if wait is None:
                    raise self.transport_error(request, error, attempt) from None
            else:
                self._log(request, f"{response.status_code} in {1000 * (time.monotonic() - started):.0f} ms")
                wait = self.next_wait(request, attempt, response=response)
                if wait is None:
                    return self.decode(request, response)
            self.sleep(wait)
            attempt += 1


def pool_limits(settings: Settings) -> httpx.Limits:
    """Enough kept-alive connections for every concurrent statement to reuse its own."""
    keep = max(20, settings.concurrency)
    return httpx.Limits(max_connections=max(100, keep), max_keepalive_connections=keep)


def row_objects(payload: t.Any, object_key: str | None) -> list[t.Mapping[str, t.Any]]:
    """The objects a response holds under ``object_key`` (a list, one object, or nothing)."""
    if object_key:
        for key in object_key.removeprefix("$.").split("."):
            payload = payload.get(key) if isinstance(payload, dict) else None
    if payload is None:
        return []
    if isinstance(payload, list):
        return [item for item in payload if isinstance(item, dict)]
    return [payload] if isinstance(payload, dict) else [{"value": payload}]


def decode_response(response: httpx.Response, method_name: str) -> t.Any:
    try:
        payload = response.json() if response.content else None
    except (ValueError, UnicodeDecodeError):
        payload = None
        if response.is_success:
            raise OperationalError(f"{method_name}: HTTP {response.status_code} with a body that is not JSON") from None
    if response.is_success:
        return payload
    status = response.status_code
    code, message = _error_details(payload)
    if message is None:
        message = response.reason_phrase or "error"
    raise APIError(status, message, code=code, method=method_name)


def _error_details(payload: t.Any) -> tuple[t.Any, str | None]:
    """The message from either envelope: RealtimeKit's ``error`` or the v4 ``errors[]``."""
    if not isinstance(payload, dict):
        return None, None
    error = payload.get("error")
    if isinstance(error, dict) and error.get("message"):
        return error.get("code"), str(error["message"])
    if isinstance(error, str):
        return None, error
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
        messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
        return first.get("code"), messages
    if payload.get("message"):
        return None, str(payload["message"])
    return None, json.dumps(payload)[:200]
