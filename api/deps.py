"""Names of the injected dependencies (Litestar ``NamedDependency`` aliases), in one place."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency

from ranker.domain import Organiser, Voter
from ranker.service import RankerService

__all__ = ["CurrentOrganiser", "CurrentVoter", "Service"]

Service: TypeAlias = NamedDependency[RankerService]
"""The app's :class:`~ranker.service.RankerService`."""
CurrentOrganiser: TypeAlias = NamedDependency[Organiser]
"""The organiser authenticated by the bearer key (see :func:`api.auth.provide_organiser`)."""
CurrentVoter: TypeAlias = NamedDependency[Voter]
"""The voter named by ``X-Voter-Token`` (see :func:`api.auth.provide_voter`)."""
