"""The one registry behind ``MODELS`` and ``SAMPLERS``: lookups, errors and registration."""

from __future__ import annotations

import doctest
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import algorithms.registry
from algorithms import (
    MODELS,
    SAMPLERS,
    Registry,
    UnknownName,
    create_model,
    create_sampler,
    register_model,
    register_sampler,
)
from algorithms.samplers import SamplerState, sampler_from_state


def test_models_and_samplers_are_the_same_registry_class() -> None:
    assert type(MODELS) is type(SAMPLERS) is Registry
    assert isinstance(MODELS, dict)
    assert register_model == MODELS.register and register_sampler == SAMPLERS.register


def test_every_registered_class_carries_its_name() -> None:
    for registry in (MODELS, SAMPLERS):
        for name, cls in registry.items():
            assert cls.name == name


@pytest.mark.parametrize(
    ("registry", "kind", "lookup"),
    [
        (MODELS, "model", lambda name: create_model(name)),
        (MODELS, "model", lambda name: MODELS.create(name)),
        (MODELS, "model", lambda name: MODELS.get_class(name)),
        (MODELS, "model", lambda name: MODELS[name]),
        (MODELS, "model", lambda name: MODELS.check(name)),
        (SAMPLERS, "sampler", lambda name: create_sampler(name, seed=0)),
        (SAMPLERS, "sampler", lambda name: SAMPLERS.get_class(name)),
        (SAMPLERS, "sampler", lambda name: SAMPLERS[name]),
        (SAMPLERS, "sampler", lambda name: SAMPLERS.check(name)),
        (
            SAMPLERS,
            "sampler",
            lambda name: sampler_from_state(SamplerState(sampler=name, params={}, data={})),
        ),
    ],
)
def test_an_unknown_name_names_the_kind_and_lists_the_known_names_sorted(
    registry: Registry[Any], kind: str, lookup: Callable[[str], object]
) -> None:
    known = ", ".join(sorted(registry))
    with pytest.raises(UnknownName) as info:
        lookup("foo")
    assert str(info.value) == f"unknown {kind} 'foo'; known: {known}"
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert (info.value.kind, info.value.name) == (kind, "foo")
    assert list(info.value.known) == sorted(registry)


def test_the_sampler_message_reads_as_documented() -> None:
    with pytest.raises(ValueError, match=r"^unknown sampler 'foo'; known: adaptive, balanced, "):
        create_sampler("foo")


@pytest.mark.parametrize("name", [None, 3, ["bt"], ""])
def test_check_refuses_what_is_not_a_registered_string(name: object) -> None:
    with pytest.raises(UnknownName, match=r"unknown model .*; known: bt, "):
        MODELS.check(name)


def test_lookups_of_known_names_and_no_silent_default() -> None:
    assert MODELS.check("elo") == "elo"
    assert MODELS.get_class("elo") is MODELS["elo"]
    assert type(MODELS.create("elo", n_items=2)) is MODELS["elo"]
    assert MODELS.get("nope") is None  # dict.get keeps its meaning: no exception, no default
    assert "nope" not in MODELS


def test_unknown_name_survives_pickling() -> None:
    err = UnknownName("model", "x", ["b", "a"])
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) == "unknown model 'x'; known: a, b"


class _Thing:
    name = ""


def test_register_refuses_another_class_under_a_taken_name() -> None:
    things: Registry[_Thing] = Registry("thing", _Thing)

    @things.register("a")
    class A(_Thing):
        pass

    assert things.register("a")(A) is A  # the same class again is harmless
    assert A.name == "a" and things == {"a": A}

    class B(_Thing):
        pass

    with pytest.raises(ValueError, match="thing name 'a' is already registered"):
        things.register("a")(B)
    assert things["a"] is A and B.name == ""


def test_register_refuses_a_class_of_another_kind() -> None:
    things: Registry[_Thing] = Registry("thing", _Thing)
    with pytest.raises(ValueError, match="must be a subclass of _Thing"):
        things.register("x")(int)
    assert not things


def test_registry_doctests() -> None:
    result = doctest.testmod(algorithms.registry)
    assert result.attempted > 0 and result.failed == 0
