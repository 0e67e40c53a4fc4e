"""``ranker organiser`` (list, create, rotate a lost key) and ``ranker demo`` run twice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ranker.accounts import Accounts
from ranker.cli import main
from ranker.commands.serve import DEMO_QUESTION, create_demo
from ranker.errors import Unauthorized
from ranker.storage import open_store

KEY = re.compile(r"organiser key \(shown once\): (rk_\S+)")


def keys_in(text: str) -> list[str]:
    return KEY.findall(text)


def authenticate(url: str, key: str) -> str:
    store = open_store(url)
    try:
        return Accounts(store).authenticate(key).id
    finally:
        store.close()


def test_create_list_and_rotate_an_organiser_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["organiser", "--store", url, "create", "Clinic team"]) == 0
    out = capsys.readouterr().out
    (old,) = keys_in(out)
    org_id = re.search(r"organiser ([\w-]+) \(Clinic team\)", out).group(1)  # type: ignore[union-attr]
    assert authenticate(url, old) == org_id

    assert main(["organiser", "--store", url, "list"]) == 0
    assert re.search(
        rf"^{org_id}\tClinic team\tcreated .*\t0 surveys$", capsys.readouterr().out, re.M
    )

    assert main(["organiser", "--store", url, "rotate", org_id]) == 0
    (new,) = keys_in(capsys.readouterr().out)
    assert authenticate(url, new) == org_id
    with pytest.raises(Unauthorized, match="replaced"):
        authenticate(url, old)
    # still one organiser, now with the new key only
    assert main(["organiser", "--store", url, "list"]) == 0
    assert capsys.readouterr().out.count("Clinic team") == 1


def test_rotate_refuses_an_unknown_organiser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["organiser", "--store", url, "rotate", "nobody"]) == 2
    assert "no organiser has the id 'nobody'" in capsys.readouterr().err


def test_demo_twice_reuses_its_survey_and_replaces_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    first = create_demo(url, "http://127.0.0.1:8000")
    second = create_demo(url, "http://127.0.0.1:8000")
    sid = re.search(r"Demo survey ([\w-]+)", first).group(1)  # type: ignore[union-attr]
    assert f"Demo survey {sid} (already in this store" in second
    (old,), (new,) = keys_in(first), keys_in(second)
    with pytest.raises(Unauthorized):
        authenticate(url, old)
    org_id = authenticate(url, new)
    assert f"ranker organiser rotate {org_id}" in second
    assert "Settings" in second and "PATCH" not in second
    # rotating through one of the organiser's surveys works as well
    assert main(["organiser", "--store", url, "rotate", "--survey", sid]) == 0
    (newer,) = keys_in(capsys.readouterr().out)
    assert authenticate(url, newer) == org_id
    store = open_store(url)
    try:
        from ranker.service import RankerService

        svc = RankerService(store, secret=b"s" * 32, follow=False)
        surveys = svc.surveys.all()
        assert [s.question for s in surveys] == [DEMO_QUESTION]
        assert "`" not in surveys[0].description  # descriptions are plain text
        svc.close()
    finally:
        store.close()
