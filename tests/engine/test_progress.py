"""The progress bar appears only for a person at a terminal, never in pipes or CI."""

from __future__ import annotations

import io

import pytest

from cfql.script import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_only_on_a_terminal_outside_ci_for_longer_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert progress.wanted(20, Terminal())
    assert not progress.wanted(20, io.StringIO())  # a pipe or file
    assert not progress.wanted(3, Terminal())  # too short to bother
    monkeypatch.setenv("CI", "true")
    assert not progress.wanted(20, Terminal())


def test_bar_shows_counts_rate_errors_and_pacing() -> None:
    stream = Terminal()
    bar = progress.ProgressBar(10, stream)
    bar.waiting(2.5)
    bar.update(4, 1)
    line = stream.getvalue()
    assert "4/10" in line and "errors: 1" in line and "/s" in line
    assert "pacing: waiting 2.5s for the rate limit" in line
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K")
