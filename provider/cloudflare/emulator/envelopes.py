"""The two JSON envelopes a RealtimeKit client meets.

RealtimeKit itself answers ``{"success": ..., "data"| "error": ...}``, while
the Cloudflare edge in front of it (authentication, rate limiting, routing)
answers in the v4 shape ``{"success", "errors", "messages", "result"}``.  A
client must handle both, so the emulator reproduces the split exactly.
"""

from __future__ import annotations

from typing import Any

RATE_LIMIT_CODE = 971
RATE_LIMIT_MESSAGE = "Please wait and consider throttling your request speed"
AUTH_CODE = 10000
AUTH_MESSAGE = "Authentication error"


def success(data: Any, paging: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if paging is not None:
        body["paging"] = paging
    return body


def rtk_error(status: int, message: str) -> dict[str, Any]:
    """RealtimeKit's error envelope (``realtimekitGenericErrorResponse`` in the spec)."""
    return {"success": False, "error": {"code": status, "message": message}}


def v4_error(code: int, message: str) -> dict[str, Any]:
    """Cloudflare's v4 API error envelope, as sent by the edge before RealtimeKit sees a request."""
    return {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}
