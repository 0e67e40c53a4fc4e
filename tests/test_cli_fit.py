"""``ranker fit``: ranked output in three formats and one-line errors for bad input."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from scipy.stats import kendalltau

from algorithms import MODELS
from ranker.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "potatoes.csv"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_is_a_ranked_list_with_intervals(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["fit", str(EXAMPLE), "--format", "json"], capsys)
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 20
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    assert rows[0]["rank"] == 1
    for r in rows:
        assert {"item", "score", "low", "high", "rank", "rank_lo", "rank_hi"} <= r.keys()
        assert r["low"] <= r["score"] <= r["high"]
        assert r["rank_lo"] <= r["rank"] <= r["rank_hi"]
        assert 0.0 < r["p_beats_random"] < 1.0
        assert r["wins"] + r["losses"] + r["ties"] == r["comparisons"] == 228
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_tiers_agree_with_rank_ranges_on_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    # issue 11: P5 and P11 (both ranks 9-12 or so) were split into tiers 4 and 5 while
    # P12 and P13 (ranks 1 and 2) shared tier 1
    code, out, err = run_cli(["fit", str(EXAMPLE), "--format", "json"], capsys)
    assert code == 0, err
    rows = {r["item"]: r for r in json.loads(out)}
    assert rows["P5"]["tier"] == rows["P11"]["tier"]
    assert rows["P12"]["rank_hi"] < rows["P13"]["rank_lo"]
    assert rows["P12"]["tier"] < rows["P13"]["tier"]
    for a in rows.values():
        for b in rows.values():
            if a["rank_lo"] <= b["rank_hi"] and b["rank_lo"] <= a["rank_hi"]:
                assert a["tier"] == b["tier"], (a["item"], b["item"])


def test_a_winner_loser_file_is_not_read_as_left_always_wins(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # every winner is in the first column: without swapping sides a side-aware bt put all
    # of it down to the side advantage (scores within +-0.02 of 0)
    code, out, _ = run_cli(["fit", str(EXAMPLE), "--format", "json"], capsys)
    assert code == 0
    scores = [r["score"] for r in json.loads(out)]
    assert max(scores) - min(scores) > 5.0


def test_ranking_of_the_potatoes_agrees_with_their_true_weights(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        ["fit", str(shared_data / "potato_weight_visual.csv"), "--format", "json"], capsys
    )
    assert code == 0
    fitted = {r["item"]: r["rank"] for r in json.loads(out)}
    truth = {}
    with open(shared_data / "potato_weight_truth.csv") as f:
        for row in csv.DictReader(f):
            truth[row["item"]] = int(row["true_rank"])
    items = sorted(truth)
    tau = kendalltau([fitted[i] for i in items], [truth[i] for i in items]).statistic
    assert tau > 0.7


def test_csv_and_table_formats(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["fit", str(EXAMPLE), "--format", "csv", "--top", "5"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 5 and rows[0]["rank"] == "1"
    assert {r["settle"] for r in rows} <= {"in", "out", "tied", "open"} and float(
        rows[0]["p_top"]
    ) > 0.5
    code, out, _ = run_cli(["fit", str(EXAMPLE), "--forecast-s", "0.5"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("bt fit of 2280 votes on 20 items")
    assert lines[1].split()[:3] == ["rank", "item", "score"]
    assert len(lines) == 24
    # the whole order, then the top k: the same criteria and forecast as the dashboard's card
    whole = re.fullmatch(
        r"whole order: (\d+) of 19 neighbouring places told apart or tied; "
        r"order still open among places ((?:\d+-\d+)(?:, \d+-\d+)*)",
        lines[-2],
    )
    assert whole and 0 < int(whole[1]) < 19, lines[-2]
    runs = [tuple(map(int, r.split("-"))) for r in whole[2].split(", ")]
    assert all(a < b for a, b in runs) and all(b < c for (_, b), (c, _) in itertools.pairwise(runs))
    assert lines[-1].startswith("top 10 at 95%, ideas within 55/45 practically tied: not settled (")
    assert "more votes" in lines[-1] and lines[-1].endswith("with sampler settle")
    code, out, _ = run_cli(["fit", str(EXAMPLE), "--top-k", "2", "--forecast-s", "0"], capsys)
    assert out.splitlines()[-1].startswith("top 2 at 95%")
    code, _, err = run_cli(["fit", str(EXAMPLE), "--margin", "0.5"], capsys)
    assert code == 2 and "--margin must be in (0.5, 1)" in err


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_registered_model_can_be_chosen(
    model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["fit", str(EXAMPLE), "--model", model, "--format", "json"], capsys)
    assert code == 0, err
    assert len(json.loads(out)) == 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "missing.csv"], "missing.csv: no such file"),
        (["fit", str(EXAMPLE), "--model", "nope"], "unknown model 'nope'"),
        (["fit", str(EXAMPLE), "-p", "nonsense"], "--param must look like NAME=VALUE"),
        (["fit", str(EXAMPLE), "-p", "bogus=1"], "unknown parameter(s) bogus"),
        (["fit", str(EXAMPLE), "--level", "1.5"], "--level must be in (0, 1)"),
    ],
)
def test_bad_input_gets_a_one_line_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(args, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("ranker fit: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_bad_row_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("left,right,outcome\na,b,left\nb,c,sideways\n")
    code, _, err = run_cli(["fit", str(f)], capsys)
    assert code == 2
    assert "row 3: outcome must be left, right or tie" in err


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("winner,loser\nA,A\n")
    proc = subprocess.run(
        [sys.executable, "-m", "ranker.cli", "fit", str(f)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "row 2: item 'A' is compared with itself" in proc.stderr
