"""What plans and drivers exchange: requests to send and the answers they got (sans-IO).

A plan never performs I/O. Its ``exchange(params)`` is a generator that yields
a batch of ``ApiRequest`` (all at once when every one is a read, such as the
remaining pages of a list; changes in order, up to ``--concurrency`` at once;
the first failure ends the batch), receives the ``ApiResponse`` of each (None
for a change that failed or was not sent, when the driver reports what the
others returned), and finally returns the statement's ``Result``. A driver — ``cfql.http.sync_driver`` or ``cfql.http.async_driver``
— is the only code that sends anything, retries, paces or dry-runs.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from cfql.provider.model import Method

if t.TYPE_CHECKING:
    from cfql.result import Result


# The characters RFC 3986 allows in a path segment, which the official SDK leaves as they are.
SEGMENT_SAFE = "!$&'()*+,;=:@"


def sent_forms(*values: str) -> tuple[str, ...]:
    """Each value as written and as a URL carries it, in a path segment or a query, each form once.

    A secret is masked in all of them: an API's error, a log or a next-page link
    may quote the URL it was sent, percent-encoded.
    """
    forms = (form for v in values for form in (v, quote(v, safe=SEGMENT_SAFE), quote(v, safe=""), quote_plus(v)))
    return tuple(dict.fromkeys(forms))


@dataclass(frozen=True, eq=False)
class ApiRequest:
    """One HTTP call, fully determined: what a dry run prints and what a driver sends.

    ``url`` is set only for a page whose address the previous response gave
    (a next-link); otherwise the driver joins the provider's base URL and ``path``.
    """

    method: Method
    http_method: str
    path: str
    query: t.Mapping[str, t.Any]
    body: t.Mapping[str, t.Any] | None
    url: str | None = None
    headers: t.Mapping[str, str] = field(default_factory=dict)
    server: t.Mapping[str, str] = field(default_factory=dict)  # values for the server URL's variables
    #: Which element of its statement the request is for (``participant_id = 'p1'``, ``row 2``), when the
    #: statement sends one request per element; "" otherwise.
    element: str = ""
    #: The values of the secret path, query and header parameters it carries, in every form a URL gives
    #: them (``sent_forms``): masked wherever it is shown.
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class ApiResponse:
    """A successful answer: its status, headers and decoded JSON (secret fields already masked)."""

    status: int
    headers: t.Mapping[str, str]
    payload: t.Any


#: The protocol between a plan and a driver.
Exchange = t.Generator[list[ApiRequest], list[ApiResponse], "Result"]


def no_requests(result: Result) -> Exchange:
    """An exchange that sends nothing (SHOW, DESCRIBE): the result is known already."""
    return result
    yield  # pragma: no cover - makes this function a generator
