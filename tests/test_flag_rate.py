"""``against_crowd`` on real voters (``../shared/data``): few honest people flagged, coins
found; skipped only when the shared data are absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.flag_rate import flag_shares, read_votes
from ranker.signals import agreement


@pytest.mark.parametrize(
    "name", ["beach_preferences", "physical_strength_faces", "potato_weight_visual"]
)
def test_few_real_voters_are_flagged_and_coins_on_their_pairs_are(
    shared_data: Path, name: str
) -> None:
    voter, winner, loser, n = read_votes(shared_data / f"{name}.csv")
    r = flag_shares(voter, winner, loser, n, coins=2)
    assert r["eligible"] >= 10
    assert r["flagged_all_share"] <= 0.05 and r["flagged_loo_share"] <= 0.06
    assert r["coins_flagged_share"] >= 0.5


def test_intransitive_sound_judges_are_flagged_only_when_a_coin_explains_them_better(
    shared_data: Path,
) -> None:
    """37 of 46 sound judges have a cycle; the rule flags none for noise alone, only those
    whose answers a coin explains e^2 times better than the crowd's model."""
    from benchmarks.flag_rate import crowd_scores

    voter, winner, loser, n = read_votes(shared_data / "sounds_human_likeness.csv")
    y = np.ones(voter.shape[0])
    agree = agreement(voter, winner, loser, y, crowd_scores(winner, loser, y, n))
    flagged = [a for a in agree.values() if a.against]
    assert len(flagged) <= 0.2 * len(agree)
    assert all(a.log_lr < -2 for a in flagged)
