"""``ranker evaluate``: table and JSON comparison of models, plots, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from algorithms import MODELS
from ranker.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def votes_csv(tmp_path: Path) -> Path:
    """300 Bradley-Terry votes on 10 items with voters, dates and some ties."""
    rng = np.random.default_rng(0)
    s = np.linspace(2.0, -2.0, 10)
    lines = ["left,right,outcome,voter,timestamp"]
    for k in range(300):
        i, j = rng.choice(10, size=2, replace=False)
        p = 1.0 / (1.0 + np.exp(s[j] - s[i]))
        u = rng.random()
        outcome = "tie" if u < 0.08 else ("left" if rng.random() < p else "right")
        lines.append(f"item{i},item{j},{outcome},v{k % 6},2024-01-{1 + k // 20:02d}")
    path = tmp_path / "votes.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_table_compares_models_and_recommends_one_in_words(
    votes_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        ["evaluate", str(votes_csv), "--models", "bt,elo,crowd-bt", "--folds", "3"], capsys
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("votes.csv: 300 votes, 10 items, 6 voters, timestamps; 3-fold")
    assert "left/right as in the file" in lines[0]
    assert lines[1].split()[:3] == ["model", "log", "loss"]
    body = {ln.split()[1] if ln.startswith("*") else ln.split()[0]: ln for ln in lines[2:6]}
    assert set(body) == {"bt", "elo", "crowd-bt", "oracle"}
    assert sum(ln.startswith("*") for ln in lines[2:6]) == 1
    best = next(ln for ln in lines[2:6] if ln.startswith("*")).split()[1]
    assert lines[-1].startswith(f"Recommended: {best}, the lowest held-out log loss")
    assert "voter" in body["crowd-bt"] and "±" in body["bt"]


def test_json_has_every_measure_per_model(
    votes_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        ["evaluate", str(votes_csv), "--models", "bt,elo", "--format", "json", "--seed", "3"],
        capsys,
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["file"] == "votes.csv" and d["folds"] == 5 and d["seed"] == 3
    assert d["side_meaningful"] is True and d["best"] in {"bt", "elo"}
    assert list(d["models"]) == ["bt", "elo"]
    for m in d["models"].values():
        for key in ("log_loss", "relative", "brier", "accuracy", "fit_time"):
            assert set(m[key]) == {"mean", "se", "folds"} and len(m[key]["folds"]) == 5
        assert sum(m["calibration"]["count"]) == d["n_test"]
    assert len(d["oracle"]["prior_strength"]) == 5


def test_default_is_every_registered_model_and_plots_are_written(
    votes_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plots = tmp_path / "plots"
    code, out, err = run_cli(
        ["evaluate", str(votes_csv), "--format", "json", "--folds", "2", "--plots", str(plots)],
        capsys,
    )
    assert code == 0, err
    assert set(json.loads(out)["models"]) == set(MODELS)
    png = plots / "votes.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png) in err


def test_winner_loser_files_get_random_sides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "wl.csv"
    f.write_text("winner,loser\n" + "A,B\nB,C\nA,C\nC,D\nB,D\nA,D\n" * 10)
    code, out, err = run_cli(["evaluate", str(f), "--models", "bt", "--folds", "2"], capsys)
    assert code == 0, err
    assert "sides randomised (winner,loser file)" in out.splitlines()[0]


def test_help_shows_defaults_and_model_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 5)" in text and "(default: 0)" in text and "(default: table)" in text
    for name in MODELS:
        assert name in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "bt,glicko"], "unknown model 'glicko'; known: "),
        (["--models", " , "], "--models names no model"),
        (["--folds", "1"], "folds must be an integer >= 2"),
    ],
)
def test_bad_options_are_one_line_errors(
    votes_csv: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["evaluate", str(votes_csv), *args], capsys)
    assert code == 2 and out == ""
    assert err.startswith("ranker evaluate: error: ") and message in err
    assert err.count("\n") == 1


def test_missing_and_bad_files_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["evaluate", str(tmp_path / "nope.csv")], capsys)
    assert code == 2 and "no such file" in err and err.count("\n") == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    code, _, err = run_cli(["evaluate", str(bad)], capsys)
    assert code == 2 and "header must have columns" in err and err.count("\n") == 1
    stamp = tmp_path / "stamp.csv"
    stamp.write_text("winner,loser,timestamp\nA,B,last week\n")
    code, _, err = run_cli(["evaluate", str(stamp)], capsys)
    assert code == 2 and "row 2: timestamp must be an ISO 8601" in err


def test_evaluates_a_shared_file_with_voters(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        [
            "evaluate",
            str(shared_data / "sounds_human_likeness.csv"),
            "--models",
            "bt,crowd-bt",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["n_votes"] == 1380 and d["side_meaningful"] is False
    assert d["uses"]["crowd-bt"] == ["voter"] and d["uses"]["bt"] == []
    assert 0.98 < d["models"]["bt"]["relative"]["mean"] < 1.05
