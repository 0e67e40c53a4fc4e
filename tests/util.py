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


def following(repo: Any) -> bool:
    """Whether the repository's background follower is running."""
    f = repo._follower
    return f is not None and bool(f.alive)


def wait_applied(repo: Any, survey_id: str, seq: int, timeout: float) -> bool:
    """Wait until the repository's loaded projection of ``survey_id`` has applied ``seq``
    (delivered by the follower or any read; no read is made here); ``False`` on timeout."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        proj = repo._projections.get(survey_id)
        if proj is not None and proj.seq >= seq:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)
