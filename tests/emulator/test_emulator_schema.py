"""Every response of every emulated operation validates against the reference OpenAPI spec.

The read-side OAS 3.0 validator is used on purpose: it also fails a response
that carries a ``writeOnly`` property (the spec marks storage ``access_key``
so), and it checks the ``uuid`` and ``date-time`` formats.
"""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from cfql.provider.cloudflare.emulator import Faults

PREFIX = "/accounts/{account_id}/realtime/kit/{app_id}/meetings"
EMULATED = (
    "",
    "/{meeting_id}",
    "/{meeting_id}/participants",
    "/{meeting_id}/participants/{participant_id}",
    "/{meeting_id}/participants/{participant_id}/token",
)
FULL_MEETING = {
    "title": "Schema check",
    "live_stream_on_start": True,
    "session_keep_alive_time_in_secs": 90.5,
    "transcribe_on_end": True,
    "ai_config": {
        "summarization": {"summary_type": "lecture", "text_format": "markdown", "word_limit": 500},
        "transcription": {"keywords": ["sql"], "language": "en-US", "profanity_filter": False},
    },
    "recording_config": {
        "audio_config": {"channel": "stereo", "codec": "AAC", "export_file": True},
        "file_name_prefix": "x",
        "live_streaming_config": {"rtmp_url": "rtmp://live.example.com/app"},
        "max_seconds": 3600,
        "realtimekit_bucket_config": {"enabled": False},
        "storage_config": {"type": "digitalocean", "access_key": "AK", "secret": "S", "region": "nyc3", "bucket": "b"},
        "video_config": {
            "codec": "H264",
            "export_file": True,
            "height": 720,
            "width": 1280,
            "watermark": {"position": "left top", "size": {"height": 5, "width": 5}, "url": "https://w.example/x.png"},
        },
    },
}
# The Cloudflare edge envelope (401, 429, routing) is not part of the RealtimeKit spec.
V4_ERROR = {
    "type": "object",
    "required": ["success", "errors", "messages", "result"],
    "properties": {
        "success": {"const": False},
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
            },
        },
        "messages": {"type": "array"},
        "result": {"type": "null"},
    },
}


class Checker:
    """Validates responses against the spec and remembers which operations were covered."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.covered: set[tuple[str, str]] = set()

    def __call__(self, response: httpx.Response, suffix: str, status: int | None = None) -> dict[str, Any]:
        method = response.request.method.lower()
        status = status or response.status_code
        assert response.status_code == status, response.text
        schema = self.spec["paths"][PREFIX + suffix][method]["responses"][str(status)]["content"]["application/json"][
            "schema"
        ]
        self._validate(schema, response.json())
        self.covered.add((suffix, method))
        return response.json()

    def error(self, response: httpx.Response) -> None:
        """RealtimeKit errors (400/404/409/500) all use the spec's generic error response."""
        self._validate({"$ref": "#/components/schemas/realtimekitGenericErrorResponse"}, response.json())

    def _validate(self, schema: dict[str, Any], body: Any) -> None:
        validator = OAS30ReadValidator(
            {**schema, "components": self.spec["components"]}, format_checker=oas30_format_checker
        )
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, (errors, body)


def test_every_operation_response_matches_the_spec(spec, private):
    emu, api = private
    check = Checker(spec)
    http = api.http

    full = check(http.post(api.base, json=FULL_MEETING), "")["data"]
    bare = check(http.post(api.base, json={}), "")["data"]
    check(http.get(api.base), "")
    check(http.get(api.base, params={"search": "schema", "status": "ACTIVE", "page_no": 1, "per_page": 1}), "")
    for meeting in (full, bare):
        check(http.get(api.meeting_path(meeting["id"])), "/{meeting_id}")
        check(http.patch(api.meeting_path(meeting["id"]), json={"status": "INACTIVE", "title": "t"}), "/{meeting_id}")
        check(
            http.put(api.meeting_path(meeting["id"]), json={"recording_config": FULL_MEETING["recording_config"]}),
            "/{meeting_id}",
        )

    people = f"{api.meeting_path(full['id'])}/participants"
    person = check(
        http.post(people, json={"custom_participant_id": "a", "preset_name": "p"}), "/{meeting_id}/participants"
    )["data"]
    check(
        http.post(
            people,
            json={
                "custom_participant_id": "b",
                "preset_name": "p",
                "name": "B",
                "picture": "https://example.com/b.png",
            },
        ),
        "/{meeting_id}/participants",
    )
    check(http.get(people), "/{meeting_id}/participants")
    one = f"{people}/{person['id']}"
    check(http.get(one), "/{meeting_id}/participants/{participant_id}")
    check(http.patch(one, json={"name": "A", "picture": None}), "/{meeting_id}/participants/{participant_id}")
    check(http.post(f"{one}/token"), "/{meeting_id}/participants/{participant_id}/token")
    check(http.delete(one), "/{meeting_id}/participants/{participant_id}")

    expected = {(suffix, method) for suffix in EMULATED for method in spec["paths"][PREFIX + suffix]}
    assert check.covered == expected

    for failure in (
        http.get(api.meeting_path("missing")),
        http.post(api.base, json={"title": 1}),
        http.post(people, json={"custom_participant_id": "b", "preset_name": "p"}),
    ):
        assert failure.status_code in (400, 404, 409)
        check.error(failure)

    emu.faults.error_rate = 1.0
    check(http.get(api.meeting_path(full["id"])), "/{meeting_id}", status=500)
    emu.faults = Faults(rate_limit="1/60")
    http.get(api.base)
    throttled = http.get(api.base)
    emu.faults = Faults()
    unauthenticated = httpx.get(emu.url + api.base)
    no_route = http.get(api.base + "/x/y")
    for edge, status in ((throttled, 429), (unauthenticated, 401), (no_route, 404)):
        assert edge.status_code == status
        jsonschema.validate(edge.json(), V4_ERROR)
