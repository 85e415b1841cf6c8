"""When Enter runs the input and when it starts a new line."""

from __future__ import annotations

import pytest

from cfql.shell.keys import ends_with_edit, is_complete


@pytest.mark.parametrize(
    "text",
    ["SHOW PROVIDERS;", "SHOW\nPROVIDERS ;  ", "SELECT 1; -- trailing comment", "\\timing", "exit", " QUIT ", "", "SELECT 1 \\e"],
)
def test_runs(text: str) -> None:
    assert is_complete(text)


@pytest.mark.parametrize(
    "text",
    ["SHOW PROVIDERS", "INSERT INTO r (a) SELECT 'x;", "SELECT ';' AS semi", "SELECT 1 /* ; */", "exit now"],
)
def test_continues_on_a_new_line(text: str) -> None:
    assert not is_complete(text)


def test_edit_suffix_must_be_the_command() -> None:
    assert ends_with_edit("SELECT 1 \\e") and not ends_with_edit("SELECT 1 \\ e") and not ends_with_edit("SELECT 'x\\e")
