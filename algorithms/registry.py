"""One name -> class registry, shared by the rating models and the pair samplers.

:data:`algorithms.MODELS` and :data:`algorithms.SAMPLERS` are both a :class:`Registry`. An
unknown name is always an error that lists the known names; nothing falls back to a default.

>>> from algorithms import MODELS
>>> MODELS.check("elo")
'elo'
>>> try:
...     MODELS.create("glicko")
... except ValueError as exc:
...     print(exc)  # doctest: +ELLIPSIS
unknown model 'glicko'; known: bt, bt-online, crowd-bt, elo, ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar, cast

__all__ = ["Registry", "UnknownName"]

T = TypeVar("T")
C = TypeVar("C", bound=type[Any])


class UnknownName(KeyError, ValueError):
    """A name that is not in a :class:`Registry`.

    Both a ``KeyError`` (a registry is a mapping: ``MODELS["nope"]`` raises it) and a
    ``ValueError`` (an unknown name is a bad argument value: callers that validate user input
    catch ``ValueError``). ``str()`` is one line naming the kind and every known name, sorted.
    """

    def __init__(self, kind: str, name: object, known: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = tuple(sorted(known))
        super().__init__(kind, name, self.known)

    def __str__(self) -> str:
        return f"unknown {self.kind} {self.name!r}; known: {', '.join(self.known) or 'none'}"


class Registry(dict[str, type[T]], Generic[T]):
    """Classes by name, filled by the :meth:`register` class decorator.

    Parameters
    ----------
    kind
        What the classes are (``"model"``, ``"sampler"``), used in error messages.
    base
        Every registered class must subclass it.

    Looking up a missing name (``registry[name]``, :meth:`get_class`, :meth:`create`,
    :meth:`check`) raises :class:`UnknownName`.
    """

    def __init__(self, kind: str, base: type) -> None:
        super().__init__()
        self.kind = kind
        self.base = base

    def __missing__(self, name: str) -> type[T]:
        raise UnknownName(self.kind, name, self)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self)})"

    def register(self, name: str) -> Callable[[C], C]:
        """Class decorator: add the class under ``name`` and set its ``name`` attribute.

        Registering the same class twice is harmless; another class under a taken name is a
        ``ValueError``, and so is a class that does not subclass :attr:`base`.
        """

        def deco(cls: C) -> C:
            self[name] = self._checked(name, cls)
            cls.name = name
            return cls

        return deco

    def _checked(self, name: str, cls: object) -> type[T]:
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise ValueError(
                f"{self.kind} {name!r} must be a subclass of {self.base.__name__}, got {cls!r}"
            )
        taken = self.get(name)
        if taken is not None and taken is not cls:
            raise ValueError(
                f"{self.kind} name {name!r} is already registered to {taken.__qualname__}"
            )
        # ``base`` is T at run time (a ``type[T]`` parameter would refuse abstract base classes)
        return cast("type[T]", cls)

    def check(self, name: object) -> str:
        """``name`` if it is registered, else :class:`UnknownName` (also for non-strings)."""
        if not isinstance(name, str) or name not in self:
            raise UnknownName(self.kind, name, self)
        return name

    def get_class(self, name: str) -> type[T]:
        """The class registered under ``name``."""
        return self[self.check(name)]

    def create(self, name: str, **params: Any) -> T:
        """An instance of the class registered under ``name``, parameters by keyword."""
        return self.get_class(name)(**params)
