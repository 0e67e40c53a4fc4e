"""``elo``: classic Elo on the natural log-odds scale.

``p = σ(s_i - s_j)``; after outcome ``y``: ``s_i += k (y - p)``, ``s_j -= k (y - p)``.
A chess rating ``R`` (``P = 1 / (1 + 10^(-(R_i - R_j)/400))``) maps to ``s = R ln(10)/400``,
so a chess ``K`` maps to ``k = K ln(10)/400`` (chess ``K = 32`` is ``k ≈ 0.184``).

Elo has no posterior. The variance it reports is an approximation (see
:class:`Elo`), kept so samplers and intervals have something honest to read.
"""

from __future__ import annotations

import math
from typing import Any

from algorithms._gauss import GaussianItemModel, check_positive
from algorithms.base import register_model

__all__ = ["CHESS_SCALE", "Elo"]

#: natural log-odds per chess Elo point: ``s = R * CHESS_SCALE``
CHESS_SCALE = math.log(10.0) / 400.0


@register_model("elo")
class Elo(GaussianItemModel):
    """Elo ratings with ``k`` in natural log-odds units.

    Parameters
    ----------
    n_items
        Number of items to start with (all rated 0).
    k
        Step size in log-odds per unit of surprise ``y - p``. The default 0.1
        is a chess ``K`` of about 17.4.
    prior_var
        Only used for the approximate variance: ``1 / var_i = 1 / prior_var + Σ p(1-p)``
        over the votes item ``i`` took part in, each ``p`` being the predicted
        probability just before that vote (the diagonal of the Bradley-Terry
        observed information, Laplace-like). It ignores correlations and the fact
        that Elo is not a maximum of any posterior; treat intervals as rough.

    Examples
    --------
    >>> m = Elo(n_items=2, k=0.2)
    >>> m.update(0, 1, 1.0)
    >>> [round(float(s), 3) for s in m.scores()]
    [0.1, -0.1]
    >>> round(float(m.posterior().var[0]), 4)  # 1 / (1 + 0.25)
    0.8
    """

    def __init__(self, n_items: int = 0, *, k: float = 0.1, prior_var: float = 1.0) -> None:
        self.k = k
        super().__init__(n_items, prior_var=prior_var)

    def _validate_params(self) -> None:
        super()._validate_params()
        self._k = check_positive("k", self.k)

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "k": float(self.k)}

    def _step(self, i: int, j: int, y: float, voter: Any) -> None:
        mu = self._mu
        s2 = self._s2
        si = mu[i]
        sj = mu[j]
        try:
            p = 1.0 / (1.0 + math.exp(sj - si))
        except OverflowError:
            p = 0.0
        delta = self._k * (y - p)
        mu[i] = si + delta
        mu[j] = sj - delta
        info = p * (1.0 - p)
        vi = s2[i]
        vj = s2[j]
        s2[i] = vi / (1.0 + vi * info)
        s2[j] = vj / (1.0 + vj * info)
