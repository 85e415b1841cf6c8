"""The next page, for each pagination a document can declare (``cfql.plan.pages``), without any I/O."""

from __future__ import annotations

import typing as t

import pytest

from cfql.http.messages import ApiRequest, ApiResponse
from cfql.plan.pages import Pager, next_link
from cfql.provider.model import Method, PageNumbering, Pagination


def method(pagination: Pagination, parameters: t.Sequence[str] = ("page", "cursor", "size")) -> Method:
    from cfql.provider.model import Field

    fields = {name: Field(name, "query", False, {}) for name in parameters}
    return Method("list", "p.s.r", "select", "GET", "/things", "https://api.example.test", fields, {}, False, {}, None, "", pagination)


def request(spec: Pagination, **query: t.Any) -> ApiRequest:
    return ApiRequest(method(spec), "GET", "/things", query, None)


def answer(payload: t.Any = None, **headers: str) -> ApiResponse:
    return ApiResponse(200, headers, payload)


def test_a_body_token_goes_back_in_the_query() -> None:
    spec = Pagination(request_key="cursor", response_key="$.meta.next")
    pager = Pager(spec)
    following = pager.next(request(spec, size=2), answer({"meta": {"next": "abc"}}), 2)
    assert following is not None and following.query == {"size": 2, "cursor": "abc"}
    assert pager.next(following, answer({"meta": {"next": None}}), 2) is None


def test_a_token_seen_before_ends_the_walk() -> None:
    spec = Pagination(request_key="cursor", response_key="$.next")
    pager = Pager(spec)
    first = pager.next(request(spec), answer({"next": "x"}), 1)
    assert first is not None and pager.next(first, answer({"next": "x"}), 1) is None


def test_a_token_in_a_response_header_can_go_into_the_body_or_a_header() -> None:
    into_body = Pagination(request_key="marker", request_location="body", response_key="X-Next", response_location="header")
    following = Pager(into_body).next(request(into_body), answer(None, **{"x-next": "m2"}), 5)
    assert following is not None and following.body == {"marker": "m2"} and following.query == {}
    into_header = Pagination(request_key="X-Page", request_location="header", response_key="X-Next", response_location="header")
    following = Pager(into_header).next(request(into_header), answer(None, **{"X-Next": "m2"}), 5)
    assert following is not None and following.headers == {"X-Page": "m2"}


def test_a_link_header_gives_the_next_url() -> None:
    spec = Pagination(response_key="Link", response_location="header", algorithm="RFC5988", request_location="request")
    link = '<https://api.example.test/things?page=1>; rel="prev", <https://api.example.test/things?page=3>; rel="next"'
    following = Pager(spec).next(request(spec, page=2), answer([], Link=link), 3)
    assert following is not None and following.url == "https://api.example.test/things?page=3" and following.query == {}
    assert Pager(spec).next(request(spec), answer([], Link='<https://x/?page=1>; rel="prev"'), 3) is None


@pytest.mark.parametrize(
    "header, url",
    [
        ('<https://a/?p=2>; rel="next"', "https://a/?p=2"),
        ("<https://a/?p=2>; rel=next", "https://a/?p=2"),
        ('<https://a/?p=9>; rel="last", <https://a/?p=2>; rel="next prefetch"', "https://a/?p=2"),
        ('<https://a/?p=1>; rel="first"', None),
        ("", None),
    ],
)
def test_link_headers(header: str, url: str | None) -> None:
    assert next_link(header) == url


def test_a_next_url_in_the_body() -> None:
    spec = Pagination(request_key="", request_location="request", response_key="$.links.pages.next")
    following = Pager(spec).next(request(spec), answer({"links": {"pages": {"next": "https://api.example.test/things?page=2"}}}), 1)
    assert following is not None and following.url == "https://api.example.test/things?page=2"


NUMBERED = Pagination(request_key="page", numbering=PageNumbering(first=1, size_key="size", total_items="$.total", last_index="$.last"))


@pytest.mark.parametrize(
    "payload, query, items, more",
    [
        ({"total": 5, "last": 1}, {"size": 2}, 2, True),
        ({"total": 5, "last": 4}, {"page": 3, "size": 2}, 1, False),
        ({}, {"size": 2}, 2, True),  # nothing said: a full page asks for another
        ({}, {"size": 2}, 1, False),  # a short page is the last
        ({}, {}, 3, True),  # no size either: only an empty page ends it
        ({"total": 5, "last": 4}, {}, 0, False),
    ],
)
def test_numbered_pages(payload: t.Any, query: dict[str, t.Any], items: int, more: bool) -> None:
    following = Pager(NUMBERED).next(request(NUMBERED, **query), answer(payload), items)
    assert (following is not None) == more
    if following is not None:
        assert following.query["page"] == query.get("page", 1) + 1


def test_numbered_pages_by_total_pages() -> None:
    spec = Pagination(request_key="page", numbering=PageNumbering(total_pages="$.info.total_pages", current_page="$.info.page"))
    pager = Pager(spec)
    assert pager.next(request(spec), answer({"info": {"page": 1, "total_pages": 2}}), 10) is not None
    assert pager.next(request(spec, page=2), answer({"info": {"page": 2, "total_pages": 2}}), 10) is None
