"""Request rules of the emulated RealtimeKit meetings API.

The emulator is deliberately stricter than a lenient server: unknown body
fields and unknown query parameters are rejected, so a client bug (a typo'd
column, a field sent to the wrong operation) fails loudly in cfql's tests
instead of being silently ignored.

Rules are small composable functions ``rule(value, path) -> cleaned value``.
They follow the official SDK (cloudflare-python 5.9.0) where it differs from
the OpenAPI document (``VP9``, ``transcribe_on_end``, ``recording_config`` on
PATCH, the ``storage_config`` shapes) and take the bounds the SDK leaves out
from the OpenAPI document.  This module must not import from ``engine/``: the
emulator stands in for the server, not for the client.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Rule = Callable[[Any, str], Any]


class Invalid(Exception):
    """A request breaks a rule; ``field`` is the dotted name the client must fix."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _json_type(value: Any) -> str:
    """Name a decoded JSON value the way a client author would read it in an error."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(path, f"must be a boolean, not {_json_type(value)}")
    return value


def string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise Invalid(path, f"must be a string, not {_json_type(value)}")
    return value


def nonempty_string(value: Any, path: str) -> str:
    text = string(value, path)
    if text == "":
        raise Invalid(path, "must not be empty")
    return text


def uri(value: Any, path: str) -> str:
    """An absolute URI: the spec says ``format: uri``, so a bare host or path is refused."""
    text = string(value, path)
    if not urlsplit(text).scheme or any(c.isspace() for c in text):
        raise Invalid(path, "must be an absolute URI such as https://example.com/a.png")
    return text


def _bounded(value: float, path: str, minimum: float | None, maximum: float | None) -> None:
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            raise Invalid(path, f"must be >= {minimum:g}, got {value:g}")
        raise Invalid(path, f"must be between {minimum:g} and {maximum:g}, got {value:g}")


def number(minimum: float | None = None, maximum: float | None = None) -> Rule:
    def rule(value: Any, path: str) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(path, f"must be a number, not {_json_type(value)}")
        if not math.isfinite(value):
            raise Invalid(path, "must be a finite number")
        _bounded(value, path, minimum, maximum)
        return value

    return rule


def integer(minimum: int | None = None, maximum: int | None = None) -> Rule:
    def rule(value: Any, path: str) -> int:
        checked = number()(value, path)
        if isinstance(checked, float) and not checked.is_integer():
            raise Invalid(path, f"must be a whole number, got {checked:g}")
        whole = int(checked)
        _bounded(whole, path, minimum, maximum)
        return whole

    return rule


def one_of(*choices: str) -> Rule:
    def rule(value: Any, path: str) -> str:
        if not isinstance(value, str) or value not in choices:
            raise Invalid(path, f"must be one of {', '.join(choices)}; got {json.dumps(value)}")
        return value

    return rule


def array(item: Rule) -> Rule:
    def rule(value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise Invalid(path, f"must be an array, not {_json_type(value)}")
        return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]

    return rule


def nullable(inner: Rule) -> Rule:
    def rule(value: Any, path: str) -> Any:
        return None if value is None else inner(value, path)

    return rule


def obj(
    fields: Mapping[str, Rule],
    required: tuple[str, ...] = (),
    check: Callable[[dict[str, Any], str], None] | None = None,
) -> Rule:
    """An object with known fields only; ``check`` adds rules that span fields."""

    def rule(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(path or "body", f"must be a JSON object, not {_json_type(value)}")
        for key in value:
            if key not in fields:
                raise Invalid(_join(path, key), "unknown field")
        for key in required:
            if key not in value:
                raise Invalid(_join(path, key), "is required")
        cleaned = {key: fields[key](v, _join(path, key)) for key, v in value.items()}
        if check is not None:
            check(cleaned, path)
        return cleaned

    return rule


# --- meeting bodies -------------------------------------------------------

STATUSES = ("ACTIVE", "INACTIVE")
SECRET_STORAGE_FIELDS = ("access_key", "password", "private_key", "secret")

AI_CONFIG = obj(
    {
        "summarization": obj(
            {
                "summary_type": one_of(
                    "general",
                    "team_meeting",
                    "sales_call",
                    "client_check_in",
                    "interview",
                    "daily_standup",
                    "one_on_one_meeting",
                    "lecture",
                    "code_review",
                ),
                "text_format": one_of("plain_text", "markdown"),
                "word_limit": integer(150, 1000),
            }
        ),
        "transcription": obj(
            {
                "keywords": array(string),
                "language": one_of("en-US", "en-IN", "de", "hi", "sv", "ru", "pl", "el", "fr", "nl"),
                "profanity_filter": boolean,
            }
        ),
    }
)


def _storage_shape(config: dict[str, Any], path: str) -> None:
    """Accept a storage_config only if it fits one of the SDK's four union members.

    The members are: any ``gcs`` config; ``aws``/``azure``/``digitalocean`` with
    ``access_key`` and ``region``; anything with ``private_key`` (auth KEY);
    anything with ``password`` (auth PASSWORD).  A config that fits none could
    never be used for an upload, so the real service would have to refuse it.
    """
    kind, auth = config["type"], config.get("auth_method")
    fits = (
        kind == "gcs"
        or (kind in ("aws", "azure", "digitalocean") and "access_key" in config and "region" in config)
        or ("private_key" in config and auth in (None, "KEY"))
        or ("password" in config and auth in (None, "PASSWORD"))
    )
    if not fits:
        raise Invalid(
            path,
            f"type {kind!r} needs access_key and region (aws, azure, digitalocean), "
            "private_key (auth_method KEY) or password (auth_method PASSWORD)",
        )


STORAGE_CONFIG = nullable(
    obj(
        {
            "type": one_of("aws", "azure", "digitalocean", "gcs", "sftp"),
            "auth_method": one_of("KEY", "PASSWORD"),
            "access_key": string,
            "bucket": string,
            "host": string,
            "password": string,
            "path": string,
            "port": number(),
            "private_key": string,
            "region": string,
            "secret": string,
            "username": string,
        },
        required=("type",),
        check=_storage_shape,
    )
)

RECORDING_CONFIG = obj(
    {
        "audio_config": obj(
            {"channel": one_of("mono", "stereo"), "codec": one_of("MP3", "AAC"), "export_file": boolean}
        ),
        "file_name_prefix": string,
        "live_streaming_config": obj({"rtmp_url": uri}),
        "max_seconds": number(60, 86400),
        "realtimekit_bucket_config": obj({"enabled": boolean}, required=("enabled",)),
        "storage_config": STORAGE_CONFIG,
        "video_config": obj(
            {
                "codec": one_of("H264", "VP8", "VP9"),
                "export_file": boolean,
                "height": integer(1, 1920),
                "width": integer(1, 1920),
                "watermark": obj(
                    {
                        "position": one_of("left top", "right top", "left bottom", "right bottom"),
                        "size": obj({"height": integer(1), "width": integer(1)}),
                        "url": uri,
                    }
                ),
            }
        ),
    }
)

_MEETING_COMMON: dict[str, Rule] = {
    "ai_config": AI_CONFIG,
    "persist_chat": boolean,
    "recording_config": RECORDING_CONFIG,
    "session_keep_alive_time_in_secs": number(60, 600),
    "summarize_on_end": boolean,
    "transcribe_on_end": boolean,
}

# Create and replace share one body: the SDK types title and the two
# "on start" flags as Optional, and null there means "use the default".
CREATE_MEETING = obj(
    {
        **_MEETING_COMMON,
        "live_stream_on_start": nullable(boolean),
        "record_on_start": nullable(boolean),
        "title": nullable(string),
    }
)
REPLACE_MEETING = CREATE_MEETING
UPDATE_MEETING = obj(
    {
        **_MEETING_COMMON,
        "live_stream_on_start": boolean,
        "record_on_start": boolean,
        "status": one_of(*STATUSES),
        "title": string,
    }
)

# --- participant bodies ---------------------------------------------------

ADD_PARTICIPANT = obj(
    {
        "custom_participant_id": nonempty_string,
        "preset_name": nonempty_string,
        "name": nullable(string),
        "picture": nullable(uri),
    },
    required=("custom_participant_id", "preset_name"),
)
EDIT_PARTICIPANT = obj({"name": nullable(string), "picture": nullable(uri), "preset_name": nullable(nonempty_string)})
NO_BODY = obj({})


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(raw: bytes, rule: Rule) -> dict[str, Any]:
    """Decode and check a JSON body; an empty body counts as ``{}`` (the SDK may send none)."""
    value: Any = {}
    if raw.strip():
        try:
            value = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Invalid("body", f"malformed JSON ({exc})") from None
        except RecursionError:  # the stdlib parser recurses per nesting level
            raise Invalid("body", "malformed JSON (nested too deeply)") from None
    body: dict[str, Any] = rule(value, "")
    return body


# --- query strings --------------------------------------------------------

PAGING_PARAMS = ("page_no", "per_page")
MEETING_LIST_PARAMS = (*PAGING_PARAMS, "search", "status", "start_time", "end_time")
DEFAULT_PER_PAGE = 20


def parse_query(raw: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """Split a query string, refusing unknown and repeated parameters."""
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key not in allowed:
            raise Invalid(key, "unknown query parameter")
        if key in query:
            raise Invalid(key, "given more than once")
        query[key] = value
    return query


def _whole(query: Mapping[str, str], name: str, default: int) -> int:
    """A non-negative whole number; empty or 0 means the default (spec: allowEmptyValue, minimum 0)."""
    text = query.get(name, "")
    if text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise Invalid(name, f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or not value.is_integer() or value < 0:
        raise Invalid(name, f"must be a whole number >= 0, got {text!r}")
    return int(value) or default


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """Return (offset, limit) for 1-based ``page_no`` and ``per_page``."""
    page_no = _whole(query, "page_no", 1)
    per_page = _whole(query, "per_page", DEFAULT_PER_PAGE)
    return (page_no - 1) * per_page, per_page


def timestamp(query: Mapping[str, str], name: str) -> datetime | None:
    """An ISO-8601 instant; naive values are read as UTC, like the API's own timestamps."""
    text = query.get(name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Invalid(name, f"must be an ISO-8601 date-time, got {text!r}") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def status_filter(query: Mapping[str, str]) -> str | None:
    text = query.get("status")
    return None if text is None else one_of(*STATUSES)(text, "status")
