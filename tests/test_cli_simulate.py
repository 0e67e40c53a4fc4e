"""``ranker simulate``: table, JSON, PNG plots, progress, --truth-from, --replay, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ranker.cli import main

FAST = ["simulate", "--n-items", "12", "--votes-per-item", "4", "--checkpoint", "2"]


def test_summary_json_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim.json"
    plots = tmp_path / "plots"
    argv = [*FAST, "--seeds", "2", "--samplers", "random,adaptive", "--models", "bt-online"]
    code = main([*argv, "--json", str(out), "--plots", str(plots)])
    assert code == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].split()[:3] == ["sampler", "model", "seeds"]
    assert {ln.split()[0] for ln in lines[1:]} == {"random", "adaptive"}
    assert "[##############################] 4/4" in captured.err  # progress bar on stderr
    body = json.loads(out.read_text())
    assert len(body["curves"]) == 4 and len(body["summary"]) == 2
    assert body["config"]["n_items"] == 12
    assert body["curves"][0]["votes_per_item"] == [2.0, 4.0]
    for metric in ("kendall_tau", "spearman", "top_k_recall", "coverage", "log_loss"):
        png = plots / f"{metric}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quiet_has_no_progress(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FAST, "--seeds", "1", "--models", "elo", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_truth_from_a_vote_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "votes.csv"
    rows = ["winner,loser"] + [f"i{a},i{b}" for a in range(6) for b in range(a + 1, 6)] * 3
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "o.json"
    argv = ["simulate", "--truth-from", str(csv), "--votes-per-item", "3", "--seeds", "1"]
    assert main([*argv, "--quiet", "--json", str(out), "--models", "bt-online"]) == 0
    body = json.loads(out.read_text())
    assert body["config"]["n_items"] == 6  # the file's items, not --n-items
    assert body["source"]["truth_from"] == str(csv)


def test_replay_of_the_potato_file(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    argv = [
        "simulate",
        "--replay",
        str(shared_data / "potato_weight_visual.csv"),
        "--truth-rank",
        str(shared_data / "potato_weight_truth.csv"),
        "--votes-per-item",
        "6",
        "--checkpoint",
        "3",
        "--seeds",
        "1",
        "--quiet",
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    body = json.loads(out.read_text())
    assert body["config"]["n_items"] == 20
    # scored against the true weights: visual judgements agree with them 92 % of the time
    taus = [c["metrics"]["kendall_tau"][-1] for c in body["curves"]]
    assert all(t > 0.5 for t in taus)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--samplers", "nope"], "unknown sampler 'nope'"),
        (["--models", "nope"], "unknown model 'nope'"),
        (["--careless", "2"], "careless must be in [0, 1]"),
        (["--seeds", "0"], "--seeds must be >= 1"),
        (["--truth-rank", "x.csv"], "--truth-rank needs --replay"),
        (["--truth-from", "/nonexistent/votes.csv"], "votes.csv"),
    ],
)
def test_bad_input_is_a_one_line_error(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*FAST, "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("ranker simulate: error:")
    assert len(err.strip().splitlines()) == 1


def test_replay_needs_a_complete_design(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "chain.csv"
    csv.write_text("winner,loser\na,b\nb,c\n")
    assert main(["simulate", "--replay", str(csv), "--quiet"]) == 2
    assert "complete design" in capsys.readouterr().err
