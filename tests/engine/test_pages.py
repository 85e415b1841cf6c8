"""Pagination without I/O: how a document's block is read or inferred (``cfql.provider.pagination``),
the next pages for each scheme (``cfql.plan.pages``), and how a statement hands batches to a driver
(``DriverCore.statement``); the drivers' concurrent sending over ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import threading
import typing as t
from pathlib import Path

import httpx
import pytest

from cfql import Connection, Settings
from cfql.errors import APIError, OperationalError
from cfql.http.messages import ApiRequest, ApiResponse
from cfql.plan.pages import PAGES_AT_ONCE, Pager, next_link
from cfql.provider.model import Field, Method, PageNumbering, Pagination
from cfql.provider.pagination import infer_pagination, read_pagination
from cfql.provider.registry import Registry

DATA = Path(__file__).resolve().parents[1] / "data"


def method(pagination: Pagination, parameters: t.Sequence[str] = ("page", "cursor", "size")) -> Method:
    fields = {name: Field(name, "query", False, {}) for name in parameters}
    return Method("list", "p.s.r", "select", "GET", "/things", "https://api.example.test", fields, {}, False, {}, None, "", pagination)


def request(spec: Pagination, **query: t.Any) -> ApiRequest:
    return ApiRequest(method(spec), "GET", "/things", query, None)


def answer(payload: t.Any = None, **headers: str) -> ApiResponse:
    return ApiResponse(200, headers, payload)


def one(pages: list[ApiRequest]) -> ApiRequest:
    """The single next request of a scheme that knows only one page ahead."""
    (following,) = pages
    return following


# --------------------------------------------------------------------------
# Tokens and next-page URLs: one page at a time
# --------------------------------------------------------------------------


def test_a_body_token_goes_back_in_the_query() -> None:
    spec = Pagination(request_key="cursor", response_key="$.meta.next")
    pager = Pager(spec)
    following = one(pager.following(request(spec, size=2), answer({"meta": {"next": "abc"}}), 2))
    assert following.query == {"size": 2, "cursor": "abc"}
    assert pager.following(following, answer({"meta": {"next": None}}), 2) == []


@pytest.mark.parametrize("token", [None, "", False, [], {}, ["x"]])
def test_only_text_or_a_number_is_a_token(token: t.Any) -> None:
    spec = Pagination(request_key="cursor", response_key="$.next")
    assert Pager(spec).following(request(spec), answer({"next": token}), 3) == []


def test_a_numeric_token_is_sent_as_text() -> None:
    spec = Pagination(request_key="until", response_key="$.pagination.next")
    assert one(Pager(spec).following(request(spec), answer({"pagination": {"next": 1540095775951}}), 3)).query == {"until": "1540095775951"}


def test_a_token_seen_before_ends_the_walk() -> None:
    spec = Pagination(request_key="cursor", response_key="$.next")
    pager = Pager(spec)
    first = one(pager.following(request(spec), answer({"next": "x"}), 1))
    assert pager.following(first, answer({"next": "x"}), 1) == []


def test_a_token_page_continues_past_an_empty_page_while_a_token_comes() -> None:
    spec = Pagination(request_key="NextToken", request_location="body", response_key="NextToken")
    following = one(Pager(spec).following(request(spec), answer({"NextToken": "n2", "Items": []}), 0))
    assert following.body == {"NextToken": "n2"}


def test_a_token_in_a_response_header_can_go_into_the_body_or_a_header() -> None:
    into_body = Pagination(request_key="marker", request_location="body", response_key="X-Next", response_location="header")
    following = one(Pager(into_body).following(request(into_body), answer(None, **{"x-next": "m2"}), 5))
    assert following.body == {"marker": "m2"} and following.query == {}
    into_header = Pagination(request_key="X-Page", request_location="header", response_key="X-Next", response_location="header")
    following = one(Pager(into_header).following(request(into_header), answer(None, **{"X-Next": "m2"}), 5))
    assert following.headers == {"X-Page": "m2"}


def test_a_link_header_gives_the_next_url() -> None:
    spec = read_pagination({"requestToken": {"key": "", "location": "request"}, "responseToken": {"key": "Link", "location": "header"}})
    assert spec is not None
    link = '<https://api.example.test/things?page=1>; rel="prev", <https://api.example.test/things?page=3>; rel="next"'
    following = one(Pager(spec).following(request(spec, page=2), answer([], Link=link), 3))
    assert following.url == "https://api.example.test/things?page=3" and following.query == {}
    assert Pager(spec).following(request(spec), answer([], Link='<https://x/?page=1>; rel="prev"'), 3) == []
    assert Pager(spec).following(request(spec), answer([]), 3) == []  # no Link header: the only page


def test_a_header_token_in_link_form_is_read_as_a_link() -> None:
    """StackQL reads any header token as ``<url>; rel="next"``; a bare value stays a bare token."""
    spec = Pagination(request_location="request", response_key="X-Pages", response_location="header")
    following = one(Pager(spec).following(request(spec), answer([], **{"X-Pages": '<https://api.example.test/things?p=2>; rel="next"'}), 1))
    assert following.url == "https://api.example.test/things?p=2"


@pytest.mark.parametrize(
    "header, url",
    [
        ('<https://a/?p=2>; rel="next"', "https://a/?p=2"),
        ("<https://a/?p=2>; rel=next", "https://a/?p=2"),
        ('<https://a/?p=9>; rel="last", <https://a/?p=2>; rel="next prefetch"', "https://a/?p=2"),
        ('<https://a/?p=1>; rel="first"', None),
        ('<>; rel="next"', None),
        ("", None),
    ],
)
def test_link_headers(header: str, url: str | None) -> None:
    assert next_link(header) == url


def test_a_next_url_in_the_body() -> None:
    spec = Pagination(request_key="", request_location="request", response_key="$.links.pages.next")
    following = one(Pager(spec).following(request(spec), answer({"links": {"pages": {"next": "https://api.example.test/things?page=2"}}}), 1))
    assert following.url == "https://api.example.test/things?page=2"


# --------------------------------------------------------------------------
# Numbered pages: a batch when the totals tell how many remain
# --------------------------------------------------------------------------

NUMBERED = Pagination(request_key="page", numbering=PageNumbering(first=1, size_key="size", total_items="$.total", last_index="$.last"))


def numbers(pages: list[ApiRequest], key: str = "page") -> list[int]:
    return [page.query[key] for page in pages]


@pytest.mark.parametrize(
    "payload, query, items, following",
    [
        ({"total": 5, "last": 1}, {"size": 2}, 2, [2, 3]),  # 3 items left, 2 a page
        ({"total": 5, "last": 4}, {"page": 3, "size": 2}, 1, []),
        ({}, {"size": 2}, 2, [2]),  # nothing said: a full page asks for one more
        ({}, {"size": 2}, 1, []),  # a short page is the last
        ({}, {}, 3, [2]),  # no size either: only an empty page ends it
        ({"total": 5, "last": 4}, {}, 0, []),
        ({"total": 50, "last": 1}, {"size": 2}, 2, [2, 3, 4, 5]),  # at most PAGES_AT_ONCE
    ],
)
def test_numbered_pages(payload: t.Any, query: dict[str, t.Any], items: int, following: list[int]) -> None:
    assert numbers(Pager(NUMBERED).following(request(NUMBERED, **query), answer(payload), items)) == following


def test_numbered_pages_by_total_pages() -> None:
    spec = Pagination(request_key="page", numbering=PageNumbering(total_pages="$.info.total_pages", current_page="$.info.page"))
    pager = Pager(spec)
    assert numbers(pager.following(request(spec), answer({"info": {"page": 1, "total_pages": 3}}), 10)) == [2, 3]
    assert pager.following(request(spec, page=3), answer({"info": {"page": 3, "total_pages": 3}}), 10) == []


def test_the_current_page_comes_from_the_response_when_it_says() -> None:
    spec = Pagination(request_key="page", numbering=PageNumbering(total_pages="$.pages", current_page="$.page"))
    assert numbers(Pager(spec).following(request(spec, page=7), answer({"page": 2, "pages": 4}), 10)) == [3, 4]


def test_zero_based_pages() -> None:
    spec = Pagination(request_key="p", numbering=PageNumbering(first=0, total_pages="$.pages"))
    assert numbers(Pager(spec).following(request(spec), answer({"pages": 3}), 10), "p") == [1, 2]


def test_an_item_total_without_a_page_size_learns_it_from_the_first_page() -> None:
    spec = Pagination(request_key="page_no", numbering=PageNumbering(total_items="$.paging.total_count"))
    pager = Pager(spec)
    batch = pager.following(request(spec), answer({"paging": {"total_count": 45}}), 20)
    assert numbers(batch, "page_no") == [2, 3]
    # the last page is short: the size learned from the first still counts what was read
    assert pager.following(batch[-1], answer({"paging": {"total_count": 45}}), 5) == []


def test_the_reported_page_size_wins_over_the_count_of_a_short_page() -> None:
    spec = Pagination(request_key="page", numbering=PageNumbering(total_items="$.info.total_count", page_size="$.info.per_page"))
    # the API caps per_page at 10 whatever was asked: the totals, not the request, say what is left
    batch = Pager(spec).following(request(spec, per_page=100), answer({"info": {"total_count": 30, "per_page": 10}}), 10)
    assert numbers(batch) == [2, 3]


def test_a_total_says_more_even_when_a_page_is_shorter_than_asked() -> None:
    spec = Pagination(request_key="page", numbering=PageNumbering(size_key="per_page", total_pages="$.total_pages"))
    assert numbers(Pager(spec).following(request(spec, per_page=100), answer({"total_pages": 3}), 50)) == [2, 3]


@pytest.mark.parametrize("wanted, following", [(1, [2]), (10, [2]), (11, [2, 3]), (35, [2, 3, 4, 5]), (None, [2, 3, 4, 5])])
def test_limit_bounds_the_batch(wanted: int | None, following: list[int]) -> None:
    spec = Pagination(request_key="page", numbering=PageNumbering(total_pages="$.total_pages"))
    assert numbers(Pager(spec).following(request(spec), answer({"total_pages": 9}), 10, rows_wanted=wanted)) == following


def test_the_batch_size_is_the_pagers() -> None:
    spec = Pagination(request_key="page", numbering=PageNumbering(total_pages="$.n"))
    assert PAGES_AT_ONCE == 4
    assert numbers(Pager(spec, at_once=2).following(request(spec), answer({"n": 9}), 10)) == [2, 3]


def test_the_same_page_twice_ends_the_walk() -> None:
    """An API that ignores the page number it documents answers page 1 again: that is the end, not a loop."""
    spec = Pagination(request_key="page", numbering=PageNumbering(size_key="per_page"))
    pager = Pager(spec)
    same = {"result": [{"id": 1}, {"id": 2}]}
    second = one(pager.following(request(spec), answer(same), 2))
    assert pager.following(second, answer(same), 2) == []


@pytest.mark.parametrize("total", ["3", 3.0])
def test_totals_sent_as_text_or_floats_count(total: t.Any) -> None:
    spec = Pagination(request_key="page", numbering=PageNumbering(total_pages="$.n"))
    assert numbers(Pager(spec).following(request(spec), answer({"n": total}), 10)) == [2, 3]


# --------------------------------------------------------------------------
# Reading StackQL's block, in the forms the published registry uses
# --------------------------------------------------------------------------


def block(request_key: str, request_location: str, response_key: str, response_location: str, **more: t.Any) -> dict[str, t.Any]:
    return {
        "requestToken": {"key": request_key, "location": request_location},
        "responseToken": {"key": response_key, "location": response_location},
        **more,
    }


@pytest.mark.parametrize(
    "raw, expected",
    [
        # github, okta: the next URL from the Link header
        (block("", "request", "Link", "header"), Pagination("", "request", "Link", "header", "RFC5988")),
        # digitalocean: the next URL from the body
        (block("", "request", "$.links.pages.next", "body"), Pagination("", "request", "$.links.pages.next", "body")),
        # databricks, awscc: a plain key; aws, anthropic (a method's config): a JSONPath
        (block("page_token", "query", "next_page_token", "body"), Pagination("page_token", "query", "next_page_token", "body")),
        (block("NextToken", "body", "$.NextToken", "body"), Pagination("NextToken", "body", "$.NextToken", "body")),
        # a header token that is no Link header
        (block("marker", "query", "X-Next", "header"), Pagination("marker", "query", "X-Next", "header")),
        # any-sdk's documented algorithm names for the Link header
        (block("page", "query", "Link", "header") | {"algorithm": "link_header_next"}, Pagination("page", "query", "Link", "header", "RFC5988")),
    ],
)
def test_stackql_token_blocks(raw: dict[str, t.Any], expected: Pagination) -> None:
    assert read_pagination(raw) == expected


def test_stackql_page_number_algorithm() -> None:
    raw = block("page", "query", "$.page", "body", algorithm="page_number", responseTerminator={"key": "$.pages", "location": "body"})
    assert read_pagination(raw) == Pagination(
        "page", "query", "$.page", "body", numbering=PageNumbering(current_page="$.page", total_pages="$.pages")
    )


def test_odata_next_link() -> None:
    spec = read_pagination({"algorithm": "odata_next_link", "requestToken": {"key": "", "location": "request"}, "responseToken": {}})
    assert spec is not None and spec.request_location == "request"
    following = one(Pager(spec).following(request(spec), answer({"value": [], "@odata.nextLink": "https://api.example.test/x?$skiptoken=2"}), 1))
    assert following.url == "https://api.example.test/x?$skiptoken=2"


def test_cfql_page_numbers() -> None:
    raw = {
        "requestToken": {"key": "page_no", "location": "query"},
        "responseToken": {
            "location": "body",
            "x-cfql-pageNumber": {"first": 1, "sizeKey": "per_page", "totalItems": "$.paging.total_count", "lastIndex": "$.paging.end_offset"},
        },
    }
    assert read_pagination(raw) == Pagination(
        "page_no", "query", "", "body",
        numbering=PageNumbering(first=1, size_key="per_page", total_items="$.paging.total_count", last_index="$.paging.end_offset"),
    )


@pytest.mark.parametrize("raw", [None, {}])
def test_no_block(raw: t.Any) -> None:
    assert read_pagination(raw) is None


@pytest.mark.parametrize(
    "raw, problem",
    [
        (block("page", "query", "$.n", "body", algorithm="fibonacci"), "algorithm 'fibonacci' is not supported"),
        (block("page", "cookie", "$.n", "body"), "requestToken.location 'cookie'"),
        (block("page", "query", "$.n", "trailer"), "responseToken.location 'trailer'"),
        (block("page", "query", "", "body"), "responseToken has no key"),
        (block("", "query", "$.next", "body"), "requestToken has no key"),
        (block("page", "query", "$.a[", "body"), "unsupported JSONPath"),
        (block("page", "query", "$.page", "body", algorithm="page_number"), "needs responseToken.key"),
        ({"requestToken": "cursor"}, "requestToken must be a mapping"),
    ],
)
def test_a_block_cfql_cannot_follow_says_why(raw: dict[str, t.Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("(", r"\(")):
        read_pagination(raw)


# --------------------------------------------------------------------------
# Inferring pagination from a document that declares none
# --------------------------------------------------------------------------


def query_fields(**schemas: t.Mapping[str, t.Any]) -> dict[str, Field]:
    return {name: Field(name, "query", False, schema) for name, schema in schemas.items()}


def envelope(**meta: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {"type": "object", "properties": {"result": {"type": "array", "items": {"type": "object"}}, **meta}}


NUMBER = {"type": "number"}
TEXT = {"type": "string"}
RESULT_INFO = {"type": "object", "properties": {k: NUMBER for k in ("count", "page", "per_page", "total_count", "total_pages")}}


def test_cloudflare_v4_result_info_gives_numbered_pages() -> None:
    spec = infer_pagination(query_fields(page={"type": "number", "minimum": 1, "default": 1}, per_page=NUMBER), envelope(result_info=RESULT_INFO))
    assert spec == Pagination(
        request_key="page",
        numbering=PageNumbering(
            first=1, size_key="per_page", total_pages="$.result_info.total_pages", current_page="$.result_info.page", page_size="$.result_info.per_page"
        ),
    )


def test_an_item_total_and_a_page_size_are_enough() -> None:
    info = {"type": "object", "properties": {k: NUMBER for k in ("count", "page", "per_page", "total_count")}}
    spec = infer_pagination(query_fields(page=NUMBER, per_page=NUMBER), envelope(result_info=info))
    assert spec is not None and spec.numbering == PageNumbering(
        size_key="per_page", total_items="$.result_info.total_count", page_size="$.result_info.per_page"
    )


def test_a_paging_block_with_an_item_total() -> None:
    paging = {"type": "object", "properties": {k: {"type": "integer"} for k in ("total_count", "start_offset", "end_offset")}}
    spec = infer_pagination(query_fields(page_no={"type": "integer"}, per_page={"type": "integer"}), envelope(paging=paging))
    assert spec is not None and spec.request_key == "page_no"
    assert spec.numbering == PageNumbering(size_key="per_page", total_items="$.paging.total_count")


def test_totals_inside_an_allof_envelope() -> None:
    schema = {"allOf": [{"type": "object", "properties": {"success": {"type": "boolean"}}}, envelope(result_info=RESULT_INFO)]}
    spec = infer_pagination(query_fields(page=NUMBER), schema)
    assert spec is not None and spec.numbering is not None and spec.numbering.total_pages == "$.result_info.total_pages"


def test_bracketed_parameter_names_and_camel_case_totals() -> None:
    pagination = {"type": "object", "properties": {k: NUMBER for k in ("page", "pageSize", "totalCount", "totalPages")}}
    spec = infer_pagination(query_fields(**{"page[number]": NUMBER, "page[size]": NUMBER}), envelope(pagination=pagination))
    assert spec is not None and spec.request_key == "page[number]"
    assert spec.numbering == PageNumbering(
        size_key="page[size]", total_pages="$.pagination.totalPages", current_page="$.pagination.page", page_size="$.pagination.pageSize"
    )


@pytest.mark.parametrize(
    "meta, response_key",
    [
        ({"result_info": {"type": "object", "properties": {"count": NUMBER, "cursor": TEXT, "per_page": NUMBER}}}, "$.result_info.cursor"),
        ({"result_info": {"type": "object", "properties": {"cursors": {"type": "object", "properties": {"before": TEXT, "after": TEXT}}}}}, "$.result_info.cursors.after"),
        ({"meta": {"type": "object", "properties": {"next_cursor": TEXT}}}, "$.meta.next_cursor"),
    ],
)
def test_a_cursor_parameter_and_a_next_cursor(meta: dict[str, t.Any], response_key: str) -> None:
    spec = infer_pagination(query_fields(cursor=TEXT, per_page=NUMBER), envelope(**meta))
    assert spec == Pagination(request_key="cursor", response_key=response_key)


def test_a_page_token_and_its_next_page_token() -> None:
    info = {"type": "object", "properties": {"next_page_token": TEXT, "total_size": NUMBER}}
    spec = infer_pagination(query_fields(page_token=TEXT, page_size=NUMBER), envelope(result_info=info))
    assert spec == Pagination(request_key="page_token", response_key="$.result_info.next_page_token")


@pytest.mark.parametrize(
    "parameters, schema",
    [
        (query_fields(page=NUMBER), envelope(success={"type": "boolean"})),  # a page, but no size and no total
        (query_fields(limit=NUMBER, offset=NUMBER), envelope(result_info=RESULT_INFO)),  # offsets are no pages
        ({}, envelope(result_info=RESULT_INFO)),  # totals, but no page parameter to send
        (query_fields(page={"type": "object"}), envelope(result_info=RESULT_INFO)),  # a page that is no scalar
        (query_fields(cursor=TEXT), envelope(result_info=RESULT_INFO)),  # a cursor but none comes back
        ({"page": Field("page", "path", True, NUMBER)}, envelope(result_info=RESULT_INFO)),  # not a query parameter
        (query_fields(cursor=TEXT), {"type": "array", "items": {"type": "object", "properties": {"cursor": TEXT}}}),  # a row's field
    ],
)
def test_nothing_inferred(parameters: dict[str, Field], schema: dict[str, t.Any]) -> None:
    assert infer_pagination(parameters, schema) is None


def test_a_page_and_a_size_without_totals_page_one_at_a_time() -> None:
    spec = infer_pagination(
        query_fields(page={"type": "integer", "default": 1}, per_page={"type": "integer", "default": 20}), envelope(success={"type": "boolean"})
    )
    assert spec == Pagination(request_key="page", numbering=PageNumbering(first=1, size_key="per_page"))


def test_a_page_typed_as_text_with_documented_totals() -> None:
    spec = infer_pagination(query_fields(page={"type": "string", "default": "1"}, per_page=TEXT), envelope(result_info=RESULT_INFO))
    assert spec is not None and spec.numbering is not None and spec.numbering.total_pages == "$.result_info.total_pages"


def test_zero_based_page_numbers_from_the_default() -> None:
    spec = infer_pagination(query_fields(**{"page[number]": {"type": "integer", "default": 0}, "page[size]": NUMBER}), envelope())
    assert spec is not None and spec.numbering is not None and spec.numbering.first == 0


def test_a_bare_next_is_a_cursor_only_as_a_number() -> None:
    numbered = envelope(next={"type": "integer"})
    assert infer_pagination(query_fields(cursor=TEXT), numbered) == Pagination(request_key="cursor", response_key="$.next")
    assert infer_pagination(query_fields(cursor=TEXT), envelope(next={"type": "string", "format": "uri"})) is None


def test_numbered_pages_win_over_a_cursor_when_both_are_documented() -> None:
    info = {"type": "object", "properties": {**RESULT_INFO["properties"], "cursor": TEXT}}
    spec = infer_pagination(query_fields(page=NUMBER, per_page=NUMBER, cursor=TEXT), envelope(result_info=info))
    assert spec is not None and spec.numbering is not None


def test_a_method_pages_only_when_it_takes_the_token() -> None:
    spec = Pagination(request_key="NextToken", request_location="body", response_key="NextToken")
    body = {"NextToken": Field("NextToken", "body", False, TEXT)}
    taking = Method("list", "p.s.r", "select", "POST", "/", "https://x", {}, body, True, {}, None, "", spec)
    assert taking.paged and not method(spec, parameters=("cursor",)).paged
    assert method(Pagination(request_location="request", response_key="Link", response_location="header"), ()).paged


# --------------------------------------------------------------------------
# The statement hands a batch of reads over whole, a change one request at a time
# --------------------------------------------------------------------------


def pager_answer(request: httpx.Request) -> httpx.Response:
    page, size = int(request.url.params.get("page", 1)), int(request.url.params.get("per_page", 5))
    chunk = [{"id": f"i{n:02d}", "n": n} for n in range((page - 1) * size + 1, min(page * size, 23) + 1)]
    info = {"page": page, "per_page": size, "total_count": 23, "total_pages": -(-23 // size)}
    return httpx.Response(200, json={"result": chunk, "result_info": info})


def pager_connection(handler: t.Callable[[httpx.Request], httpx.Response] = pager_answer) -> Connection:
    """A connection to the paging providers whose HTTP goes to ``handler`` over a MockTransport."""
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Connection(Settings(token="t", base_url="https://pager.test/v1"), http_client=client, registry=Registry(DATA / "paging_providers"))


@pytest.fixture
def pager_conn() -> t.Iterator[Connection]:
    with pager_connection() as conn:
        yield conn


def test_a_statement_yields_the_known_pages_as_one_batch(pager_conn: Connection) -> None:
    plan = pager_conn.plans.get("SELECT id FROM pager.items.records WHERE zone_id = 'z1'")
    steps = pager_conn.driver.statement(plan, None)
    (first,) = next(steps)
    batch = steps.send([pager_conn.driver.send(first)])
    assert [r.query["page"] for r in batch] == [2, 3, 4, 5]
    with pytest.raises(StopIteration) as done:
        steps.send([pager_conn.driver.send(r) for r in batch])
    assert [row["id"] for row in done.value.value.rows] == [f"i{n:02d}" for n in range(1, 24)]


def test_a_batch_of_changes_is_handed_to_the_driver_whole_and_sent_in_order() -> None:
    sent: list[str] = []

    def acme(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content)["name"])
        return httpx.Response(201, json={"widget": json.loads(request.content)})

    client = httpx.Client(transport=httpx.MockTransport(acme))
    with Connection(Settings(token="k"), http_client=client, registry=Registry(DATA / "registry")) as conn:
        plan = conn.plans.get("INSERT INTO acme.widgets.widgets (shop, name) VALUES ('s1', 'a'), ('s1', 'b')")
        steps = conn.driver.statement(plan, None)
        first, second = next(steps)
        assert first.body == {"name": "a"} and second.body == {"name": "b"}
        assert (first.element, second.element) == ("row 1", "row 2")
        with pytest.raises(StopIteration) as done:
            steps.send(conn.driver.send_changes([first, second]))
    assert sent == ["a", "b"]
    assert [o.status for o in done.value.value.outcomes] == ["succeeded", "succeeded"]


def test_the_sync_driver_sends_a_batch_from_worker_threads_answers_in_order() -> None:
    threads: dict[int, str] = {}

    def recording(request: httpx.Request) -> httpx.Response:
        threads[int(request.url.params.get("page", 1))] = threading.current_thread().name
        return pager_answer(request)

    with pager_connection(recording) as conn:
        rows = conn.execute("SELECT id FROM pager.items.records WHERE zone_id = 'z1'")
    assert [row["id"] for row in rows] == [f"i{n:02d}" for n in range(1, 24)]
    assert not threads[1].startswith("cfql-send") and all(threads[n].startswith("cfql-send") for n in (2, 3, 4, 5))


def test_an_error_in_one_page_fails_the_batch() -> None:
    def failing(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "4":
            return httpx.Response(404, json={"message": "page 4 is gone"})
        return pager_answer(request)

    with pager_connection(failing) as conn, pytest.raises(APIError, match="page 4 is gone"):
        conn.execute("SELECT id FROM pager.items.records WHERE zone_id = 'z1'")


def test_a_relative_next_link_is_resolved_against_the_page_it_came_from() -> None:
    """Some APIs answer ``Link: </v1/linked?page=2>; rel="next"``: the next page is on the same host."""
    seen: list[str] = []

    def linked(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        page = int(request.url.params.get("page", 1))
        headers = {"Link": f'</v1/linked?page={page + 1}>; rel="next"'} if page < 3 else {}
        return httpx.Response(200, json=[{"id": f"p{page}"}], headers=headers)

    with pager_connection(linked) as conn:
        rows = conn.execute("SELECT id FROM pager.items.linked")
    assert [row["id"] for row in rows] == ["p1", "p2", "p3"]
    assert seen == ["https://pager.test/v1/linked", "https://pager.test/v1/linked?page=2", "https://pager.test/v1/linked?page=3"]


def test_a_next_link_to_another_host_is_not_followed() -> None:
    def linked(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"id": "p1"}], headers={"Link": '<https://elsewhere.test/v1/linked?page=2>; rel="next"'})

    with pager_connection(linked) as conn:
        with pytest.raises(OperationalError, match="points to https://elsewhere.test, not to pager.test"):
            conn.execute("SELECT id FROM pager.items.linked")
