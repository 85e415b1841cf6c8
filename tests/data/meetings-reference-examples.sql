-- Copied from StackQL's documentation page for cloudflare.realtime_kit.meetings (the page cfql was specified with), 2026-12.
-- One statement per method, in the page's order; each follows a '-- method: <name>' line and is copied verbatim, {{ placeholders }} and all.

-- method: refresh_participant_token
INSERT INTO cloudflare.realtime_kit.meetings (
account_id,
app_id,
meeting_id,
participant_id
)
SELECT
'{{ account_id }}',
'{{ app_id }}',
'{{ meeting_id }}',
'{{ participant_id }}'
RETURNING
data,
success
;

-- method: add_participant
INSERT INTO cloudflare.realtime_kit.meetings (
custom_participant_id,
name,
picture,
preset_name,
account_id,
app_id,
meeting_id
)
SELECT
'{{ custom_participant_id }}' /* required */,
'{{ name }}',
'{{ picture }}',
'{{ preset_name }}' /* required */,
'{{ account_id }}',
'{{ app_id }}',
'{{ meeting_id }}'
RETURNING
data,
success
;

-- method: create
INSERT INTO cloudflare.realtime_kit.meetings (
ai_config,
live_stream_on_start,
persist_chat,
record_on_start,
recording_config,
session_keep_alive_time_in_secs,
summarize_on_end,
title,
account_id,
app_id
)
SELECT
'{{ ai_config }}',
{{ live_stream_on_start }},
{{ persist_chat }},
{{ record_on_start }},
'{{ recording_config }}',
{{ session_keep_alive_time_in_secs }},
{{ summarize_on_end }},
'{{ title }}',
'{{ account_id }}',
'{{ app_id }}'
RETURNING
data,
success
;

-- method: edit_participant
UPDATE cloudflare.realtime_kit.meetings
SET
name = '{{ name }}',
picture = '{{ picture }}',
preset_name = '{{ preset_name }}'
WHERE
meeting_id = '{{ meeting_id }}' --required
AND participant_id = '{{ participant_id }}' --required
AND account_id = '{{ account_id }}' --required
AND app_id = '{{ app_id }}' --required
RETURNING
data,
success;

-- method: update_meeting_by_id
UPDATE cloudflare.realtime_kit.meetings
SET
ai_config = '{{ ai_config }}',
live_stream_on_start = {{ live_stream_on_start }},
persist_chat = {{ persist_chat }},
record_on_start = {{ record_on_start }},
session_keep_alive_time_in_secs = {{ session_keep_alive_time_in_secs }},
status = '{{ status }}',
summarize_on_end = {{ summarize_on_end }},
title = '{{ title }}'
WHERE
meeting_id = '{{ meeting_id }}' --required
AND account_id = '{{ account_id }}' --required
AND app_id = '{{ app_id }}' --required
RETURNING
data,
success;

-- method: replace_meeting_by_id
REPLACE cloudflare.realtime_kit.meetings
SET
ai_config = '{{ ai_config }}',
live_stream_on_start = {{ live_stream_on_start }},
persist_chat = {{ persist_chat }},
record_on_start = {{ record_on_start }},
recording_config = '{{ recording_config }}',
session_keep_alive_time_in_secs = {{ session_keep_alive_time_in_secs }},
summarize_on_end = {{ summarize_on_end }},
title = '{{ title }}'
WHERE
meeting_id = '{{ meeting_id }}' --required
AND account_id = '{{ account_id }}' --required
AND app_id = '{{ app_id }}' --required
RETURNING
data,
success;

-- method: delete_meeting_participant
DELETE FROM cloudflare.realtime_kit.meetings
WHERE meeting_id = '{{ meeting_id }}' --required
AND participant_id = '{{ participant_id }}' --required
AND account_id = '{{ account_id }}' --required
AND app_id = '{{ app_id }}' --required
;
