"""``algorithms.evaluate.cross_validate``: held-out scores, the oracle, folds, seeds and errors."""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import numpy as np
import pytest
from numpy.typing import ArrayLike

from algorithms import VoteContext, create_model
from algorithms.base import FloatArray, PairwiseModel
from algorithms.bt import BTModel
from algorithms.evaluate import Estimate, cross_validate


def bt_votes(
    seed: int, n: int = 12, m: int = 600, ties: float = 0.0
) -> tuple[FloatArray, Any, Any, Any]:
    """Votes drawn from a Bradley-Terry model with scores spread over [-2, 2]."""
    rng = np.random.default_rng(seed)
    s = np.linspace(2.0, -2.0, n)
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(s[right] - s[left]))).astype(float)
    y[rng.random(m) < ties] = 0.5
    return s, left, right, y


def bt(n: int) -> PairwiseModel:
    """Plain bt with a fixed prior (the oracle's family), whatever bt's defaults become."""
    return create_model("bt", n_items=n, prior_strength=0.5, side_advantage=False)


class Flipped(BTModel):
    """A deliberately wrong model: it predicts the opposite of bt."""

    def predict(
        self,
        left: ArrayLike,
        right: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> FloatArray:
        return 1.0 - super().predict(left, right)


class Recorder(BTModel):
    """bt that records the voter and context it is given at fit and at prediction."""

    uses = frozenset({"voter", "time"})
    seen: ClassVar[list[tuple[str, int, Any, Any]]] = []

    def fit(
        self, left: Any, right: Any, outcome: Any, voter: Any = None, context: Any = None
    ) -> Any:
        Recorder.seen.append(("fit", len(left), voter, context))
        return super().fit(left, right, outcome)

    def predict(
        self,
        left: ArrayLike,
        right: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> FloatArray:
        Recorder.seen.append(("predict", len(np.atleast_1d(left)), voter, context))
        return super().predict(left, right)


def test_the_true_model_beats_wrong_ones_and_bt_sits_at_the_oracle() -> None:
    _, left, right, y = bt_votes(0)
    ev = cross_validate(
        left,
        right,
        y,
        models={
            "bt": bt,
            "coin": lambda n: create_model("bt", n_items=n, prior_strength=1e6),
            "flipped": lambda n: Flipped(n_items=n),
        },
    )
    ll = {k: v.log_loss.mean for k, v in ev.models.items()}
    assert ev.best == "bt"
    assert ll["bt"] < ll["coin"] < ll["flipped"]
    assert ll["coin"] == pytest.approx(math.log(2), abs=1e-3)
    # the oracle is plain bt tuned on the test fold: bt with its default is at or just above it
    assert 0.999 <= ev.models["bt"].relative.mean < 1.03
    assert ev.oracle.log_loss.mean <= ll["bt"] + 1e-4
    assert ev.models["flipped"].accuracy.mean < 0.5 < ev.models["bt"].accuracy.mean
    assert (
        ev.models["bt"].brier.mean < ev.models["coin"].brier.mean == pytest.approx(0.25, abs=1e-3)
    )


def test_standard_errors_are_finite_and_folds_partition_the_decisive_votes() -> None:
    _, left, right, y = bt_votes(1, ties=0.15)
    ev = cross_validate(left, right, y, models={"bt": bt}, folds=4)
    s = ev.models["bt"]
    for e in (s.log_loss, s.relative, s.brier, s.accuracy, s.fit_time):
        assert len(e.folds) == 4
        assert math.isfinite(e.mean) and math.isfinite(e.se) and e.se >= 0.0
    assert s.log_loss.se > 0.0
    assert ev.n_test == int(np.sum(y != 0.5)) and ev.n_votes == y.shape[0]
    assert len(ev.oracle.prior_strength) == 4
    assert all(0.0 < lam < math.inf for lam in ev.oracle.prior_strength)
    cal = s.calibration
    assert int(cal.count.sum()) == ev.n_test
    assert cal.edges[0] == 0.0 and cal.edges[-1] == 1.0
    assert 0.0 <= cal.error < 0.1  # the true model is well calibrated


def test_a_seed_makes_it_repeatable_and_another_seed_splits_differently() -> None:
    _, left, right, y = bt_votes(2)
    models = {"bt": bt, "elo": lambda n: create_model("elo", n_items=n)}

    def scores(seed: int) -> Any:
        ev = cross_validate(left, right, y, models=models, seed=seed)
        d = ev.to_dict()
        for m in d["models"].values():
            del m["fit_time"]  # wall time differs run to run
        return d

    assert scores(3) == scores(3)
    assert scores(3) != scores(4)


def test_inputs_are_not_mutated() -> None:
    _, left, right, y = bt_votes(3)
    voter = np.arange(left.shape[0]) % 7
    t = np.linspace(0.0, 30.0, left.shape[0])
    arrays = [left, right, y, voter, t]
    copies = [a.copy() for a in arrays]
    for a in arrays:
        a.setflags(write=False)
    cross_validate(
        left,
        right,
        y,
        models={"bt": bt},
        voter=voter,
        context=VoteContext(time=t),
        side_meaningful=False,
    )
    for a, c in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, c)


def test_models_get_the_voter_and_context_of_their_train_and_test_rows() -> None:
    _, left, right, y = bt_votes(4, m=300)
    voter = np.arange(300) % 5
    t = np.arange(300, dtype=float)
    Recorder.seen = []
    ev = cross_validate(
        left,
        right,
        y,
        models={"rec": lambda n: Recorder(n_items=n)},
        voter=voter,
        context=VoteContext(time=t),
        folds=3,
    )
    assert ev.uses == {"rec": ["time", "voter"]}
    fits = [r for r in Recorder.seen if r[0] == "fit"]
    preds = [r for r in Recorder.seen if r[0] == "predict"]
    assert len(fits) == len(preds) == 3
    for _, size, v, ctx in fits + preds:
        assert v.shape == (size,) and ctx.time.shape == (size,) and ctx.group is None
    # training keeps the file's order (sequential models depend on it) and the folds partition
    for _, _, _, ctx in fits:
        assert np.all(np.diff(ctx.time) > 0)
    tested = np.sort(np.concatenate([ctx.time for _, _, _, ctx in preds]))
    np.testing.assert_array_equal(tested, t)
    for _, _, v, ctx in fits + preds:
        np.testing.assert_array_equal(v, voter[ctx.time.astype(int)])


def test_winner_loser_data_get_random_sides() -> None:
    _, left, right, y = bt_votes(5)
    win = np.where(y == 1.0, left, right)
    lose = np.where(y == 1.0, right, left)
    ones = np.ones(win.shape[0])
    ev = cross_validate(win, lose, ones, models={"bt": bt}, side_meaningful=False)
    cal = ev.models["bt"].calibration
    share = float(np.nansum(cal.observed * cal.count) / cal.count.sum())
    assert 0.4 < share < 0.6
    # the same votes as a left,right,outcome file: the left item always wins
    ev_sided = cross_validate(win, lose, ones, models={"bt": bt}, side_meaningful=True)
    cal = ev_sided.models["bt"].calibration
    assert float(np.nansum(cal.observed * cal.count)) == cal.count.sum()


def test_items_missing_from_a_training_fold_still_get_a_prediction() -> None:
    _, left, right, y = bt_votes(6, n=10, m=200)
    left = np.append(left, 10)  # item 10 appears in one vote only
    right = np.append(right, 0)
    y = np.append(y, 1.0)
    ev = cross_validate(
        left, right, y, models={"bt": bt, "elo": lambda n: create_model("elo", n_items=n)}
    )
    assert ev.n_items == 11 and ev.n_test == int(np.sum(y != 0.5))
    ev = cross_validate(left, right, y, models={"bt": bt}, n_items=15)
    assert ev.n_items == 15


def test_json_ready() -> None:
    _, left, right, y = bt_votes(7, m=200, ties=0.1)
    ev = cross_validate(left, right, y, models={"bt": bt}, folds=3)
    d = json.loads(json.dumps(ev.to_dict(), allow_nan=False))
    assert d["best"] == "bt" and d["folds"] == 3
    assert set(d["models"]["bt"]) == {
        "log_loss",
        "relative",
        "brier",
        "accuracy",
        "fit_time",
        "calibration",
    }


def test_estimate_of_fold_values() -> None:
    e = Estimate.of([1.0, 2.0, 3.0])
    assert e.mean == 2.0 and e.se == pytest.approx(1.0 / math.sqrt(3.0))
    assert e.folds == (1.0, 2.0, 3.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"models": {}}, "models must name at least one"),
        ({"folds": 1}, "folds must be an integer >= 2"),
        ({"folds": 2.5}, "folds must be an integer >= 2"),
        ({"side_meaningful": "no"}, "side_meaningful must be True or False"),
        ({"oracle_grid": (0.0, 1.0)}, "oracle_grid"),
        ({"folds": 50}, "needs at least 50 votes"),
        ({"voter": [1, 2]}, "voter must have one entry per vote"),
        ({"context": VoteContext(time=[1.0])}, "context.time must have one entry per vote"),
        ({"models": {"short": lambda n: Short(n_items=n)}}, "predict must return one"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(kwargs: dict[str, Any], message: str) -> None:
    _, left, right, y = bt_votes(8, m=30)
    args: dict[str, Any] = {"models": {"bt": bt}, **kwargs}
    with pytest.raises(ValueError, match=message):
        cross_validate(left, right, y, **args)


def test_a_fold_without_decisive_votes_is_an_error() -> None:
    left = np.array([0, 1, 2, 0, 1])
    right = np.array([1, 2, 0, 2, 0])
    y = np.array([0.5, 0.5, 0.5, 0.5, 1.0])
    with pytest.raises(ValueError, match="no decisive"):
        cross_validate(left, right, y, models={"bt": bt}, folds=2)


class Short(BTModel):
    """A broken model whose predict drops a vote."""

    def predict(
        self,
        left: ArrayLike,
        right: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> FloatArray:
        return super().predict(left, right)[1:]


def test_docs_example_and_doctests_run(capsys: pytest.CaptureFixture[str]) -> None:
    import doctest
    import re
    from pathlib import Path

    import algorithms.evaluate

    text = (Path(__file__).resolve().parent.parent / "docs" / "models.md").read_text()
    start = text.index("## Evaluating models")
    end = text.find("\n## ", start + 1)
    blocks = re.findall(r"```python\n(.*?)```", text[start : end if end > 0 else None], re.S)
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(block, namespace)
    assert capsys.readouterr().out.startswith("bt ")
    result = doctest.testmod(algorithms.evaluate)
    assert result.attempted > 0 and result.failed == 0
