"""``bt-online``: Bradley-Terry by Gaussian assumed-density filtering, O(1) per vote.

Each item keeps a Gaussian ``N(μ_i, v_i)`` over its score. A vote on ``(i, j)``
with outcome ``y`` (1 left wins, 0 right wins, 0.5 tie) is absorbed by one
moment-matching step on ``d = s_i - s_j ~ N(μ_i - μ_j, v_i + v_j)``:

``μ_i += v_i g``, ``μ_j -= v_j g``, ``v_i *= 1 - v_i h``, ``v_j *= 1 - v_j h``

where ``g`` and ``-h`` are the first and second derivatives of the log of the
(approximate) marginal likelihood with respect to the mean of ``d``
(Minka 2001; Weng & Lin 2011; TrueSkill without draws). See ``docs/models.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from algorithms._gauss import LAMBDA2, GaussianItemModel, check_positive, mills
from algorithms.base import register_model

__all__ = ["OnlineBT"]

LINKS = ("logistic", "probit")


@register_model("bt-online")
class OnlineBT(GaussianItemModel):
    """Online Gaussian Bradley-Terry (assumed-density filtering, TrueSkill-like).

    Parameters
    ----------
    n_items
        Number of items to start with.
    prior_var
        Prior variance of every score (natural log-odds scale).
    link
        ``"logistic"``: ``P(i beats j) = σ(s_i - s_j)``, with the standard probit
        approximation ``E[σ(d)] ≈ σ(μ / sqrt(1 + π v / 8))`` for the update.
        ``"probit"``: ``P(i beats j) = Φ(λ (s_i - s_j))`` with ``λ² = π/8`` (the
        probit curve with the logistic's slope at 0, so scores stay on the same
        scale), updated by exact moment matching.
    drift
        Variance added to an item's score before each vote it takes part in
        (a random walk, for ideas whose appeal changes); 0 disables it.

    Ties: an outcome ``y`` in ``[0, 1]`` counts as ``y`` of a win and ``1 - y``
    of a loss (gradient and curvature are mixed in those shares), so a tie
    pulls the two means together and shrinks both variances.

    Examples
    --------
    >>> m = OnlineBT(n_items=3)
    >>> m.update(0, 1, 1.0)
    >>> m.update(1, 2, 0.5)
    >>> bool(m.scores()[0] > m.scores()[2] > m.scores()[1])
    True
    >>> bool(m.posterior().var[0] < 1.0)
    True
    """

    def __init__(
        self,
        n_items: int = 0,
        *,
        prior_var: float = 1.0,
        link: str = "logistic",
        drift: float = 0.0,
    ) -> None:
        self.link = link
        self.drift = drift
        super().__init__(n_items, prior_var=prior_var)

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.link not in LINKS:
            raise ValueError(f"link must be one of {LINKS}, got {self.link!r}")
        check_positive("drift", self.drift, allow_zero=True)
        self._probit = self.link == "probit"
        self._drift = float(self.drift)

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "link": self.link, "drift": float(self.drift)}

    def _step(self, i: int, j: int, y: float, voter: Any) -> None:
        mu = self._mu
        s2 = self._s2
        vi = s2[i]
        vj = s2[j]
        if self._drift:
            vi += self._drift
            vj += self._drift
        d = mu[i] - mu[j]
        v = vi + vj
        if self._probit:
            c2 = 1.0 / LAMBDA2 + v
            c = math.sqrt(c2)
            t = d / c
            if y == 1.0:
                a = mills(t)
                g = a / c
                h = a * (a + t) / c2
            elif y == 0.0:
                b = mills(-t)
                g = -b / c
                h = b * (b - t) / c2
            else:
                a = mills(t)
                b = mills(-t)
                g = (y * a - (1.0 - y) * b) / c
                h = (y * a * (a + t) + (1.0 - y) * b * (b - t)) / c2
        else:
            k2 = 1.0 / (1.0 + LAMBDA2 * v)
            k = math.sqrt(k2)
            try:
                p = 1.0 / (1.0 + math.exp(-k * d))
            except OverflowError:
                p = 0.0
            g = k * (y - p)
            h = k2 * p * (1.0 - p)
        mu[i] += vi * g
        mu[j] -= vj * g
        s2[i] = vi * (1.0 - vi * h)
        s2[j] = vj * (1.0 - vj * h)

    def prob(self, i: ArrayLike, j: ArrayLike) -> Any:
        """Plug-in ``P(i beats j)`` at the posterior means, under the model's link."""
        if not self._probit:
            return super().prob(i, j)
        from scipy.special import ndtr

        s = self.mean_
        d = s[np.asarray(i, dtype=np.int64)] - s[np.asarray(j, dtype=np.int64)]
        p = ndtr(math.sqrt(LAMBDA2) * d)
        return float(p) if np.ndim(p) == 0 else np.asarray(p, dtype=np.float64)
