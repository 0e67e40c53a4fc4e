"""The injected dependencies (Litestar ``NamedDependency`` aliases), in one place.

:func:`api.app.create_app` provides each use case of the voting core under the parameter
name the alias documents; a route asks for what it uses by annotating a parameter of that
name, e.g. ``voting: Voting``.
"""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency

from ranker import (
    accounts,
    exports,
    ideas,
    identity,
    integrity,
    results,
    settling,
    surveys,
    voting,
)
from ranker.domain import Organiser, Voter
from ranker.storage.base import Store

__all__ = [
    "Accounts",
    "CurrentOrganiser",
    "CurrentVoter",
    "Exports",
    "IdeaPool",
    "Identities",
    "Integrity",
    "Rankings",
    "Settling",
    "StoreDep",
    "Surveys",
    "Voting",
]

Accounts: TypeAlias = NamedDependency[accounts.Accounts]
"""``accounts``: organisers and API keys."""
Surveys: TypeAlias = NamedDependency[surveys.Surveys]
"""``surveys``: surveys and settings."""
IdeaPool: TypeAlias = NamedDependency[ideas.Ideas]
"""``pool``: ideas, moderation, comments, flags. Not named ``ideas``: Litestar reports a body
validation error on a field that shares a dependency's name (``SurveySpec.ideas``) as a 500."""
Voting: TypeAlias = NamedDependency[voting.Voting]
"""``voting``: voters, ballots, answers, undo, void."""
Identities: TypeAlias = NamedDependency[identity.Identities]
"""``identities``: who may become a voter (free budgets, proof of work, site tokens)."""
Rankings: TypeAlias = NamedDependency[results.Rankings]
"""``rankings``: rankings, group and personal results."""
Settling: TypeAlias = NamedDependency[settling.Settling]
"""``settling``: is the top k settled, and the forecast of the answers still needed."""
Integrity: TypeAlias = NamedDependency[integrity.Integrity]
"""``integrity``: voters flagged as bots, with the evidence."""
Exports: TypeAlias = NamedDependency[exports.Exports]
"""``exports``: the log and flat rows."""
StoreDep: TypeAlias = NamedDependency[Store]
"""``store``: the storage backend (health checks, the results stream's log head)."""
CurrentOrganiser: TypeAlias = NamedDependency[Organiser]
"""``organiser``: authenticated by the bearer key (see :func:`api.auth.provide_organiser`)."""
CurrentVoter: TypeAlias = NamedDependency[Voter]
"""``voter``: named by ``X-Voter-Token`` (see :func:`api.auth.provide_voter`)."""
