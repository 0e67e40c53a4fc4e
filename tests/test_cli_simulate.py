"""``ranker simulate``: labelled table, JSON that matches it, titled plots, --help, errors."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from algorithms import MODELS, SAMPLERS
from algorithms.simulation import METRICS, Curve, band, votes_to_target
from ranker.cli import main
from ranker.commands.simulate import TARGETS, figure, print_table, summarize

TITLES = {
    "kendall_tau": "Kendall τ vs true order",
    "spearman": "Spearman ρ vs true order",
    "top_k_recall": "Top-10 recall: share of the true top 10 in the estimated top 10",
    "coverage": "Coverage of the 95% intervals",
    "log_loss": "Log loss vs true win probabilities (lower is better)",
}
FAST = ["simulate", "--n-items", "12", "--votes-per-item", "4", "--checkpoint", "2"]


def _table(text: str) -> tuple[list[str], list[str], list[list[str]], list[str]]:
    """Header (quantity), header (statistic: blank under sampler, model, seeds), body rows
    and notes of the printed table."""
    lines = text.rstrip("\n").splitlines()
    cols = [re.split(r"\s{2,}", ln.strip()) for ln in lines]
    body = [c for c in cols[2:] if len(c) == len(cols[0])]
    return cols[0], cols[1], body, lines[2 + len(body) :]


def test_summary_json_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim.json"
    plots = tmp_path / "plots"
    argv = [*FAST, "--seeds", "3", "--samplers", "random,adaptive", "--models", "bt-online"]
    code = main([*argv, "--json", str(out), "--plots", str(plots)])
    assert code == 0
    captured = capsys.readouterr()
    head, stats, body, notes = _table(captured.out)
    # every column names its quantity and, on the second header line, its statistic
    assert head == [
        "sampler",
        "model",
        "seeds",
        "vpi to tau>=0.8",
        "vpi to top10 recall>=0.9",
        "tau at 4 vpi",
        "spearman at 4 vpi",
        "top10 recall at 4 vpi",
        "coverage95 at 4 vpi",
        "log loss at 4 vpi",
    ]
    assert stats == ["median (reached/N)"] * 2 + ["median [p10, p90]"] * 5
    assert {row[0] for row in body} == {"random", "adaptive"}
    assert notes[0].startswith("vpi = votes per item (votes / items)")
    assert "never" not in captured.out and "mean" not in captured.out
    assert "[##############################] 6/6" in captured.err  # progress bar on stderr
    body_json = json.loads(out.read_text())
    assert len(body_json["curves"]) == 6 and len(body_json["summary"]) == 2
    assert body_json["config"]["n_items"] == 12
    assert body_json["targets"] == TARGETS
    assert body_json["curves"][0]["votes_per_item"] == [2.0, 4.0]
    _check_table_matches_json(body, body_json)
    for metric, title in TITLES.items():
        png = plots / f"{metric}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(png) as img:  # the titles are saved in the PNG's text chunks
            meta = dict(img.text)
        assert meta["Title"] == title
        assert meta["Description"] == "median with 10–90% band over 3 seeds; 12 items, bt truth"


def _check_table_matches_json(body: list[list[str]], result: dict[str, Any]) -> None:
    """The printed numbers are the JSON summary's, which are recomputed from the curves."""
    curves = [Curve(**c) for c in result["curves"]]
    assert len(body) == len(result["summary"])
    for cells, row in zip(body, result["summary"], strict=True):
        assert cells[:3] == [row["sampler"], row["model"], str(row["seeds"])]
        group = [c for c in curves if (c.sampler, c.model) == (row["sampler"], row["model"])]
        assert len(group) == row["seeds"] == 3
        for cell, (metric, target) in zip(cells[3:5], TARGETS.items(), strict=True):
            key = f"vpi_to_{metric}_{target:g}"
            crossings = sorted(votes_to_target(c, metric, target) for c in group)
            reached = sum(math.isfinite(x) for x in crossings)
            assert row[f"{key}_reached"] == reached
            if math.isfinite(crossings[1]):  # the median of three seeds
                assert row[f"{key}_median"] == pytest.approx(crossings[1])
                assert cell == f"{crossings[1]:.1f} ({reached}/3)"
            else:
                assert row[f"{key}_median"] is None and cell == f">4 ({reached}/3)"
        for cell, metric in zip(cells[5:], METRICS, strict=True):
            finals = [c.metrics[metric][-1] for c in group]
            p10, med, p90 = np.percentile(finals, [10, 50, 90])
            stats = [row[f"{metric}_final_{k}"] for k in ("p10", "median", "p90")]
            assert stats == pytest.approx([p10, med, p90])
            assert cell == f"{med:.3f} [{p10:.3f}, {p90:.3f}]"
            # the table's last value is the plot's last point
            _, q = band(group, metric)
            assert q[:, -1].tolist() == pytest.approx([p10, med, p90])


def _curve(sampler: str, seed: int, taus: list[float]) -> Curve:
    xs = [2.0 * (k + 1) for k in range(len(taus))]
    ms = {m: [0.5] * len(taus) for m in METRICS}
    ms["kendall_tau"] = taus
    return Curve(sampler=sampler, model="bt", seed=seed, votes_per_item=xs, metrics=ms)


def test_seeds_that_never_reach_a_target_are_counted_not_hidden() -> None:
    curves = [
        # two of three seeds reach tau 0.8: the median is the later of their crossings
        _curve("a", 0, [0.5, 0.9]),
        _curve("a", 1, [0.9, 0.9]),
        _curve("a", 2, [0.5, 0.6]),
        # one of three: the median seed did not reach it within the budget
        _curve("b", 0, [0.9, 0.9]),
        _curve("b", 1, [0.5, 0.6]),
        _curve("b", 2, [0.1, 0.2]),
        # exactly half of an even number of seeds: still no finite median
        _curve("c", 0, [0.9, 0.9]),
        _curve("c", 1, [0.5, 0.6]),
    ]
    rows = {r["sampler"]: r for r in summarize(curves, {"kendall_tau": 0.8})}
    a_cross = 2.0 + 2.0 * (0.8 - 0.5) / (0.9 - 0.5)  # interpolated between checkpoints
    assert rows["a"]["vpi_to_kendall_tau_0.8_median"] == pytest.approx(a_cross)
    assert rows["a"]["vpi_to_kendall_tau_0.8_reached"] == 2
    assert rows["b"]["vpi_to_kendall_tau_0.8_median"] is None
    assert rows["b"]["vpi_to_kendall_tau_0.8_reached"] == 1
    assert rows["c"]["vpi_to_kendall_tau_0.8_median"] is None
    assert rows["a"]["kendall_tau_final_median"] == 0.9
    assert rows["a"]["kendall_tau_final_p10"] == pytest.approx(0.66)  # 0.6 + 0.2 * (0.9 - 0.6)
    text = io.StringIO()
    print_table(list(rows.values()), text, budget=4.0, targets={"kendall_tau": 0.8})
    head, stats, body, notes = _table(text.getvalue())
    assert head[3] == "vpi to tau>=0.8" and stats[0] == "median (reached/N)"
    assert [b[3] for b in body] == [f"{a_cross:.1f} (2/3)", ">4 (1/3)", ">4 (1/2)"]
    assert [b[4] for b in body] == [
        "0.900 [0.660, 0.900]",
        "0.600 [0.280, 0.840]",
        "0.750 [0.630, 0.870]",
    ]
    assert notes[-1].startswith("reached/N: seeds that reached it within 4 vpi; >4: half")


def test_plots_have_human_titles_axes_and_reference_lines() -> None:
    curves = [_curve(s, seed, [0.5, 0.7 + 0.1 * seed]) for s in ("a", "b") for seed in range(3)]
    for metric, title in TITLES.items():
        fig = figure(curves, metric, title="setting")
        ax = fig.axes[0]
        assert fig.get_suptitle() == title
        assert "_" not in title  # no raw metric ids
        assert ax.get_title() == "median with 10–90% band over 3 seeds; setting"
        assert ax.get_xlabel() == "votes per item (votes / items)"
        assert ax.get_ylabel() and "_" not in ax.get_ylabel()
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[:2] == ["a", "b"]
        dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        if metric == "coverage":  # the nominal level, so under-coverage is visible at a glance
            assert [list(ln.get_ydata()) for ln in dashed] == [[0.95, 0.95]]
            assert labels[-1] == "nominal 95%"
        else:
            assert dashed == []
    # the median line of the tau plot is the median over seeds
    line = figure(curves, "kendall_tau").axes[0].get_lines()[0]
    assert list(line.get_ydata()) == pytest.approx([0.5, 0.8])
    # another level and k: the titles and the reference line follow them
    fig = figure(curves, "coverage", level=0.9)
    assert fig.get_suptitle() == "Coverage of the 90% intervals"
    assert [ln.get_ydata()[0] for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"] == [
        0.9
    ]
    assert figure(curves, "top_k_recall", top_k=3).get_suptitle().startswith("Top-3 recall")
    # seeds differing between lines are said per line
    fig = figure(curves[:5], "spearman")
    assert fig.axes[0].get_title() == "median with 10–90% band over 2–3 seeds"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["a (3 seeds)", "b (2 seeds)"]


def test_help_shows_defaults_and_the_registered_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "500")  # one line per option: names are not hyphen-wrapped
    # names come from the registries at parser build time, never from a hard-coded list
    monkeypatch.setitem(MODELS, "zz-test-model", MODELS["bt"])
    monkeypatch.setitem(SAMPLERS, "zz-test-sampler", SAMPLERS["random"])
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    models, samplers = ", ".join(sorted(MODELS)), ", ".join(sorted(SAMPLERS))
    assert "zz-test-model" in models and "zz-test-sampler" in samplers
    assert f"--models NAMES comma-separated, from: {models} (default: bt)" in text
    assert f"--samplers NAMES comma-separated, from: {samplers} (default: random,adaptive)" in text
    for option, default in [
        ("--truth {bt,thurstone}", "bt"),
        ("--seeds N", "5"),
        ("--n-items N", "100"),
        ("--votes-per-item VPI", "30.0"),
        ("--checkpoint VPI", "1.0"),
        ("--top-k K", "10"),
        ("--level LEVEL", "0.95"),
    ]:
        found = re.search(rf"{re.escape(option)} (?:(?! --).)*\(default: ([^)]*)\)", text)
        assert found and found.group(1) == default, option
    # no noise after flags and options without a default
    assert "(default: None)" not in text and "(default: False)" not in text


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
