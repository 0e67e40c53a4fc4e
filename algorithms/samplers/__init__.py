"""Pair samplers: which two items should a voter compare next?

Created by name from :data:`SAMPLERS` with :func:`create_sampler`.
"""

from algorithms.samplers import bandit as _bandit  # noqa: F401  (registers samplers)
from algorithms.samplers import focus as _focus  # noqa: F401
from algorithms.samplers import gain as _gain  # noqa: F401
from algorithms.samplers import simple as _simple  # noqa: F401
from algorithms.samplers.base import (
    SAMPLERS,
    Pair,
    PickContext,
    Sampler,
    SamplerState,
    create_sampler,
    register_sampler,
    sampler_from_state,
)

__all__ = [
    "SAMPLERS",
    "Pair",
    "PickContext",
    "Sampler",
    "SamplerState",
    "create_sampler",
    "register_sampler",
    "sampler_from_state",
]
