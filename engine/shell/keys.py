"""Key bindings: Enter runs a finished statement and otherwise starts a new line.

Statements may span lines, so Enter alone cannot mean "run". As in pgcli, the
input runs when it is finished — it ends with ``;`` (outside any string or
comment), is a backslash command, ends with ``\\e`` (edit), is ``exit``/``quit``,
or is empty. Alt-Enter runs whatever is there, for the odd statement without
a ``;``. Ctrl-C (cancel the input), Ctrl-D (leave), Ctrl-R (search history)
and Ctrl-X Ctrl-E (edit in ``$EDITOR``) are prompt_toolkit's own bindings.
"""

from __future__ import annotations

from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import completion_is_selected, has_focus, in_paste_mode
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from cfql.shell import context

EXIT_WORDS = frozenset({"exit", "quit"})


def ends_with_edit(text: str) -> bool:
    """``SELECT ... \\e``: open the statement typed so far in the editor."""
    tokens = context.tokenize(text)
    return len(tokens) >= 2 and tokens[-2].is_op("\\") and tokens[-1].text == "e" and tokens[-2].end == tokens[-1].start


def is_complete(text: str) -> bool:
    """Whether Enter should hand ``text`` to the shell rather than add a line."""
    stripped = text.strip()
    if not stripped or stripped.startswith("\\") or stripped.lower() in EXIT_WORDS:
        return True
    tokens = context.tokenize(stripped)
    return (bool(tokens) and tokens[-1].is_op(";")) or ends_with_edit(stripped)


def key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter", filter=completion_is_selected)
    def _accept_completion(event: KeyPressEvent) -> None:
        """Enter on a highlighted completion takes it and closes the menu, as in pgcli."""
        event.current_buffer.complete_state = None

    @bindings.add("enter", filter=has_focus(DEFAULT_BUFFER) & ~completion_is_selected)
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if is_complete(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.newline(copy_margin=not in_paste_mode())

    @bindings.add("escape", "enter", filter=has_focus(DEFAULT_BUFFER))
    def _run_anyway(event: KeyPressEvent) -> None:
        event.current_buffer.validate_and_handle()

    return bindings
