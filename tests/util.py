"""Small helpers shared by several test modules."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def forge(token: str) -> str:
    """``token`` with one character of its signature changed, so it no longer verifies.

    Not the last character: in unpadded base64 its low bits are padding, so some changes
    there decode to the same bytes and the "forged" token would still be valid.
    """
    c = token[-5]
    return token[:-5] + ("A" if c != "A" else "B") + token[-4:]


def run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())`` on a thread of its own.

    The browser tests' sync Playwright session keeps an event loop running on the main
    thread for the whole session, where ``asyncio.run`` refuses to start another.
    """
    out: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(asyncio.run(main()))
        except BaseException as exc:  # re-raised on the caller's thread
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return out[0]
