"""The string formats a schema may state (``format: uri``, ``date-time``, ...), checked before sending.

An API that documents ``format: uri`` answers 400 (or stores garbage) for
``'not a url'``; checking here turns that into a DataError that names the
column, before any request. Each check is a plain function of the text, built
from the RFCs the JSON Schema formats point to, and lenient exactly where the
official SDK is: it sends international characters in a URI (an IRI) and an
empty string as they are, and cfql sends what the SDK sends.

Formats not listed (``password``, ``int64``, ...) say nothing checkable about
the text and are let through.
"""

from __future__ import annotations

import datetime
import re
import typing as t

# ASCII characters RFC 3986 allows in a URI: unreserved, reserved (gen- and sub-delims) and '%'.
_URI_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf'{_ATOM}(?:\.{_ATOM})*|"(?:[^"\\\r\n]|\\.)+"')
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\]")


def is_uri(text: str) -> bool:
    """RFC 3986 ``scheme ":" ...`` with no character a URI cannot hold (non-ASCII is allowed, as in an IRI)."""
    if text == "":
        return True
    if _SCHEME.match(text) is None:
        return False
    return all(ch in _URI_ASCII if ch < "\x80" else ch.isprintable() and not ch.isspace() for ch in text)


def is_date(text: str) -> bool:
    """RFC 3339 ``full-date``: ``YYYY-MM-DD``, a day the calendar has."""
    match = _DATE.fullmatch(text)
    return match is not None and _real_date(*match.groups())


def is_date_time(text: str) -> bool:
    """RFC 3339 ``date-time``: a full date, ``T``, a time with seconds, and an offset (``Z`` or ``+hh:mm``)."""
    if len(text) < 11 or text[10] not in "Tt":
        return False
    day, time = _DATE.fullmatch(text[:10]), _TIME.fullmatch(text[11:])
    if day is None or time is None or not _real_date(*day.groups()):
        return False
    hour, minute, second, offset_hour, offset_minute = time.groups()
    offset_ok = offset_hour is None or (int(offset_hour) < 24 and int(offset_minute) < 60)
    return int(hour) < 24 and int(minute) < 60 and int(second) <= 60 and offset_ok  # 60: a leap second


def _real_date(year: str, month: str, day: str) -> bool:
    try:
        datetime.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def is_uuid(text: str) -> bool:
    """RFC 4122's text form: 8-4-4-4-12 hexadecimal digits."""
    return _UUID.fullmatch(text) is not None


def is_email(text: str) -> bool:
    """RFC 5321 mailbox: a dot-atom or quoted local part, ``@``, a host name or an address literal."""
    local, at, domain = text.rpartition("@")
    if not at or len(local) > 64 or len(domain) > 253:
        return False
    return _LOCAL.fullmatch(local) is not None and _DOMAIN.fullmatch(domain) is not None


#: format -> (what the message calls it, the check)
FORMATS: dict[str, tuple[str, t.Callable[[str], bool]]] = {
    "uri": ("a URI", is_uri),
    "date-time": ("an RFC 3339 date-time such as 2026-01-31T09:30:00Z", is_date_time),
    "date": ("a date such as 2026-01-31", is_date),
    "uuid": ("a UUID", is_uuid),
    "email": ("an email address", is_email),
}
