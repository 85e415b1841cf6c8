"""The rule behind the run-wide check in tests/conftest.py: nothing beside the clone is read."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.standalone import REPO, Reads, beside_the_clone, usual_places

CLONE = os.path.join(os.sep, "work", "clone")


def test_files_next_to_the_clone_count_and_its_own_and_allowed_ones_do_not() -> None:
    assert beside_the_clone("/work/notes/reference.md", CLONE)
    assert beside_the_clone("/work/clone/../other/x.json", CLONE)
    assert beside_the_clone("/work/clone-old/tests/data/x.json", CLONE)  # a prefix is not the clone
    assert not beside_the_clone("/work/clone/tests/data/x.json", CLONE)
    assert not beside_the_clone("/usr/lib/python3/x.py", CLONE)
    assert not beside_the_clone("/work/venv/lib/site.py", CLONE, allowed=["/work/venv"])


def test_a_folder_holding_the_clone_excuses_nothing_beside_it() -> None:
    allowed = usual_places("/tmp/fresh/clone")  # a clone inside the temporary folder
    assert beside_the_clone("/tmp/fresh/notes.md", "/tmp/fresh/clone", allowed)
    assert not any("/tmp/fresh".startswith(place) for place in allowed if place != "/")


def test_the_hook_records_what_the_process_opens_beside_the_clone(tmp_path: Path) -> None:
    reads = Reads()
    outside = os.path.join(os.path.dirname(REPO), "beside.txt")
    reads("open", (outside, "r", 0))
    reads("open", (os.path.join(REPO, "README.md"), "r", 0))
    reads("open", (str(tmp_path / "x"), "r", 0))
    reads("exec", (outside,))
    assert reads.beside == [outside]


def test_every_data_file_says_where_it_came_from() -> None:
    data = Path(REPO) / "tests" / "data"
    readme = (data / "README.md").read_text(encoding="utf-8")
    facts = [p for p in sorted(data.iterdir()) if p.is_file() and p.suffix in (".sql", ".json")]
    assert len(facts) == 3
    for path in facts:
        text = path.read_text(encoding="utf-8")
        origin = json.loads(text)["_source"] if path.suffix == ".json" else text.splitlines()[0]
        assert "copied" in origin.lower() or "cut" in origin.lower(), path.name
        assert f"`{path.name}`" in readme, f"tests/data/README.md does not list {path.name}"
