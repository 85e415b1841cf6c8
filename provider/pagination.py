"""How a list method's pages follow one another, read from its document: declared, or inferred.

``read_pagination`` reads StackQL's ``pagination`` block (``x-stackQL-config``
service-wide, or a method's own ``config``) in every form the published
registry uses:

* a token — ``requestToken: {key, location: query|body|header}`` and
  ``responseToken: {key: <JSONPath or plain key>, location: body}`` or a
  response header (``location: header``);
* the next page's whole URL — ``requestToken: {key: '', location: request}``
  with the URL in the body (a JSONPath, as DigitalOcean's
  ``$.links.pages.next``), in OData's ``@odata.nextLink``
  (``algorithm: odata_next_link``), or in an RFC 5988 ``Link`` header
  (``responseToken: {key: Link, location: header}``, as GitHub and Okta);
* numbered pages — ``algorithm: page_number`` with ``responseToken`` (the
  current page) and ``responseTerminator`` (the page count), as Linode;
  and cfql's ``responseToken.x-cfql-pageNumber`` for APIs that give item
  totals instead of a page count.

``infer_pagination`` covers documents that declare no block (the published
Cloudflare provider): the method's own parameters and response schema say how
it pages, by one general rule each for numbered pages (a page-number query
parameter and a documented total) and cursor pages (a cursor query parameter
and a documented next cursor). The engine holds no provider's names; only
these common words for "page", "cursor" and "total".
"""

from __future__ import annotations

import re
import typing as t

from cfql.provider.model import Field, PageNumbering, Pagination
from cfql.rows.jsonpath import compile_path

#: Where a next request can carry a token; ``request``: the token is the next page's URL.
REQUEST_LOCATIONS = frozenset({"query", "body", "header", "request"})
RESPONSE_LOCATIONS = frozenset({"body", "header"})
#: OData's next-page link, for ``algorithm: odata_next_link`` without a key.
ODATA_NEXT_LINK = "$['@odata.nextLink']"


def read_pagination(raw: t.Any) -> Pagination | None:
    """StackQL's ``pagination`` block as a ``Pagination``, or None when there is none.

    Raises ValueError, naming the problem, for a block cfql cannot follow
    (an unknown algorithm or location, a malformed JSONPath): a method whose
    pages cannot be read must not quietly return the first page only.
    """
    if not raw:
        return None
    if not isinstance(raw, t.Mapping):
        raise ValueError(f"pagination must be a mapping, not {type(raw).__name__}")
    request = _mapping(raw, "requestToken")
    response = _mapping(raw, "responseToken")
    algorithm = str(raw.get("algorithm") or response.get("algorithm") or "").strip()
    request_key = str(request.get("key") or "")
    request_location = _location(request, REQUEST_LOCATIONS, "requestToken", "query")
    response_key = str(response.get("key") or "")
    response_location = _location(response, RESPONSE_LOCATIONS, "responseToken", "body")
    numbered = response.get("x-cfql-pageNumber")
    numbering = None
    link = None
    if numbered is not None:
        numbering = _numbering(numbered)
    elif algorithm.lower() == "page_number":
        terminator = _mapping(raw, "responseTerminator")
        if not response_key or not terminator.get("key"):
            raise ValueError("pagination algorithm page_number needs responseToken.key (the current page) and responseTerminator.key (the page count)")
        numbering = PageNumbering(current_page=_path(response_key), total_pages=_path(str(terminator["key"])))
    elif algorithm.lower() == "odata_next_link":
        request_location, response_key, response_location = "request", response_key or ODATA_NEXT_LINK, "body"
    elif response_location == "header":
        # Link headers are RFC 5988 whatever the algorithm says (StackQL: none, RFC5988 or link_header_next).
        if response_key.lower() in ("", "link") or algorithm.upper() in ("RFC5988", "LINK_HEADER_NEXT"):
            link, response_key = "RFC5988", response_key or "Link"
    elif algorithm:
        raise ValueError(f"pagination algorithm {algorithm!r} is not supported (page_number, odata_next_link or a Link header)")
    if numbering is None and response_location == "body":
        if not response_key:
            raise ValueError("pagination: responseToken has no key (where the next token is)")
        _path(response_key)
    if numbering is not None and request_location not in ("query", "body", "header"):
        raise ValueError("pagination: numbered pages need requestToken.location query, body or header")
    if request_location != "request" and not request_key:
        raise ValueError("pagination: requestToken has no key (where the next request carries the token)")
    return Pagination(
        request_key=request_key,
        request_location=request_location,
        response_key=response_key,
        response_location=response_location,
        algorithm=link,
        numbering=numbering,
    )


def _mapping(raw: t.Mapping[str, t.Any], key: str) -> t.Mapping[str, t.Any]:
    value = raw.get(key) or {}
    if not isinstance(value, t.Mapping):
        raise ValueError(f"pagination.{key} must be a mapping")
    return value


def _location(token: t.Mapping[str, t.Any], allowed: frozenset[str], name: str, default: str) -> str:
    location = str(token.get("location") or default).lower()
    if location not in allowed:
        raise ValueError(f"pagination: {name}.location {location!r} is not one of {', '.join(sorted(allowed))}")
    return location


def _path(text: str) -> str:
    compile_path(text)  # raises ValueError naming a malformed path
    return text


def _numbering(raw: t.Any) -> PageNumbering:
    if not isinstance(raw, t.Mapping):
        raise ValueError("pagination: x-cfql-pageNumber must be a mapping")
    first = raw.get("first", 1)
    if isinstance(first, bool) or not isinstance(first, int):
        raise ValueError(f"pagination: x-cfql-pageNumber.first must be a whole number, not {first!r}")
    paths = {
        name: _path(str(raw[key])) if raw.get(key) else None
        for name, key in (
            ("total_items", "totalItems"),
            ("last_index", "lastIndex"),
            ("total_pages", "totalPages"),
            ("current_page", "currentPage"),
            ("page_size", "pageSize"),
        )
    }
    return PageNumbering(first=first, size_key=raw.get("sizeKey") or None, **paths)


# --------------------------------------------------------------------------
# Inference from the method's parameters and response schema
# --------------------------------------------------------------------------

# Names compare lower-case with everything but letters and digits dropped:
# ``page_no``, ``pageNo`` and ``page[number]`` read alike.
_PAGE_PARAMS = frozenset({"page", "pageno", "pagenum", "pagenumber"})
_SIZE_PARAMS = frozenset({"perpage", "pagesize", "pagelimit", "limit", "size"})
_CURSOR_PARAMS = frozenset(
    {"cursor", "pagecursor", "pagetoken", "nexttoken", "continuationtoken", "marker", "after", "startingafter"}
)
_TOTAL_PAGES = frozenset({"totalpages", "pagecount", "pages", "numpages", "totalpagecount", "lastpage"})
_TOTAL_ITEMS = frozenset({"totalcount", "total", "totalitems", "totalresults", "totalrecords", "totalelements"})
_CURRENT_PAGE = _PAGE_PARAMS | {"currentpage"}
_PAGE_SIZE = frozenset({"perpage", "pagesize", "limit", "size"})
_NEXT_WORDS = ("next", "after")  # ``cursors.after``: the cursor of the page after this one
_MAX_DEPTH = 3  # ``result_info.total_pages`` is two deep, ``meta.page.after`` three


def infer_pagination(parameters: t.Mapping[str, Field], response_schema: t.Mapping[str, t.Any]) -> Pagination | None:
    """How a method pages when its document declares no pagination block, or None when nothing says.

    * Numbered pages: a query parameter named like a page number (``page``,
      ``page_no``) and a response that documents a page count
      (``result_info.total_pages``) or an item total (``total_count``).
      With a total the remaining pages are known after the first, so they
      can be read at once. Without one, a page parameter *and* a page-size
      parameter (``page`` + ``per_page``) still page, one at a time, until
      a page comes back empty, shorter than the size the statement asked
      for, or the same as the one before (an API that ignores the number).
    * Cursor pages: a query parameter named like a cursor (``cursor``,
      ``page_token``) and a response property holding the next one — the
      same name (``result_info.cursor``), ``next_`` + the name
      (``next_page_token``), or ``after``/``next`` under the name
      (``result_info.cursors.after``).

    A page parameter alone is not enough: nothing would say how long a full
    page is, so nothing but an empty page would end the walk.
    """
    query = {_word(f.api_name): f for f in parameters.values() if f.location == "query"}
    properties = list(_properties(response_schema))
    return _numbered(query, properties) or _cursor(query, properties)


def _numbered(query: t.Mapping[str, Field], properties: list[tuple[tuple[str, ...], t.Mapping]]) -> Pagination | None:
    # A page parameter may be typed as text (Cloudflare's take "all" too); the totals must be numbers.
    page = next((query[w] for w in query if w in _PAGE_PARAMS and _scalar(query[w].schema)), None)
    if page is None:
        return None
    numbers = [(path, schema) for path, schema in properties if _numeric(schema)]
    size = next((query[w] for w in query if w in _SIZE_PARAMS and _scalar(query[w].schema)), None)
    total_pages = _first(numbers, _TOTAL_PAGES)
    total_items = _first(numbers, _TOTAL_ITEMS)
    first = _first_number(page.schema)
    if total_pages is None and total_items is None:
        if size is None:
            return None
        return Pagination(request_key=page.api_name, request_location="query", numbering=PageNumbering(first=first, size_key=size.api_name))
    # The current page and the page size are read beside the total they qualify.
    beside = (total_pages or total_items)[:-1]  # type: ignore[index]
    siblings = [(path, schema) for path, schema in numbers if path[:-1] == beside]
    current = _first(siblings, _CURRENT_PAGE) if total_pages else None
    return Pagination(
        request_key=page.api_name,
        request_location="query",
        numbering=PageNumbering(
            first=first,
            size_key=size.api_name if size else None,
            total_pages=_jsonpath(total_pages),
            total_items=None if total_pages else _jsonpath(total_items),
            current_page=_jsonpath(current),
            page_size=_jsonpath(_first(siblings, _PAGE_SIZE)),
        ),
    )


def _cursor(query: t.Mapping[str, Field], properties: list[tuple[tuple[str, ...], t.Mapping]]) -> Pagination | None:
    for word, field_ in query.items():
        if word not in _CURSOR_PARAMS:
            continue
        for path, schema in properties:
            if not _scalar_token(schema):
                continue
            last = _word(path[-1])
            parent = _word(path[-2]) if len(path) > 1 else ""
            named = last in (word, "next" + word) or (last in _NEXT_WORDS and parent in (word, word + "s"))
            # A bare ``next`` is the next cursor only as a number: as text it is as often the next page's URL.
            if named or (last == "next" and _types(schema) & {"integer"}):
                return Pagination(request_key=field_.api_name, request_location="query", response_key=_jsonpath(path) or "")
    return None


def _properties(schema: t.Any, path: tuple[str, ...] = ()) -> t.Iterator[tuple[tuple[str, ...], t.Mapping]]:
    """Each documented property of the response outside its arrays, shallowest first, up to ``_MAX_DEPTH`` deep."""
    level: list[tuple[tuple[str, ...], t.Any]] = [(path, schema)]
    for _ in range(_MAX_DEPTH):
        following: list[tuple[tuple[str, ...], t.Any]] = []
        for where, node in level:
            for name, child in _own_properties(node).items():
                if isinstance(child, t.Mapping):
                    yield (*where, name), child
                    following.append(((*where, name), child))
        level = following


def _own_properties(schema: t.Any) -> dict[str, t.Any]:
    """An object schema's properties, with those of its ``allOf`` parts (an envelope often is one)."""
    if not isinstance(schema, t.Mapping) or schema.get("type") == "array":
        return {}
    found: dict[str, t.Any] = {}
    for part in schema.get("allOf") or ():
        found.update(_own_properties(part))
    properties = schema.get("properties")
    if isinstance(properties, t.Mapping):
        found.update(properties)
    return found


def _first(candidates: list[tuple[tuple[str, ...], t.Mapping]], words: frozenset[str]) -> tuple[str, ...] | None:
    return next((path for path, _ in candidates if _word(path[-1]) in words), None)


def _word(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _types(schema: t.Mapping[str, t.Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    return {str(kind)} if kind else set()


def _numeric(schema: t.Mapping[str, t.Any]) -> bool:
    """A number, or a schema that does not say (a bare ``{}`` documents a name, not a type)."""
    kinds = _types(schema) - {"null"}
    return not kinds or bool(kinds & {"integer", "number"})


def _scalar_token(schema: t.Mapping[str, t.Any]) -> bool:
    kinds = _types(schema) - {"null"}
    return not kinds or bool(kinds & {"string", "integer"})


def _scalar(schema: t.Mapping[str, t.Any]) -> bool:
    kinds = _types(schema) - {"null"}
    return not kinds or bool(kinds & {"string", "integer", "number"})


def _first_number(schema: t.Mapping[str, t.Any]) -> int:
    """The first page's number: the parameter's default (the page a request without it gets), else its minimum, else 1."""
    for key in ("default", "minimum"):
        value = _whole(schema.get(key))
        if value is not None:
            return value
    return 1


def _whole(value: t.Any) -> int | None:
    """A documented whole number >= 0 (``20``, ``20.0`` or ``"20"``), else None."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == int(value) and value >= 0:
        return int(value)
    return None


def _jsonpath(path: tuple[str, ...] | None) -> str | None:
    if path is None:
        return None
    steps = "".join(f".{p}" if re.fullmatch(r"[A-Za-z_$][\w$-]*", p) else "['" + p + "']" for p in path)
    return "$" + steps
