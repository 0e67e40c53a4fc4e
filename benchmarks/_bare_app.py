"""The ceiling for ``benchmarks.http_load``: a bare Litestar app, one tiny GET and one tiny POST.

Bodies are about the size of a real ballot and a real answer, so the ceiling measures the server,
Litestar's routing and msgspec (de)serialisation, and nothing of ranker.
Run as ``uvicorn benchmarks._bare_app:app``.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar, get, post


class Pair(msgspec.Struct):
    ballot: str
    left: dict[str, object]
    right: dict[str, object]


class AnswerIn(msgspec.Struct):
    ballot: str
    choice: str
    response_ms: int | None = None


_PAIR = Pair(
    ballot="b1." + "x" * 120 + ".sig",
    left={"id": 1, "text": "An idea of ordinary length for the benchmark"},
    right={"id": 2, "text": "Another idea of ordinary length for the benchmark"},
)


@get("/pair", sync_to_thread=False)
def pair() -> Pair:
    return _PAIR


@post("/answer", sync_to_thread=False)
def answer(data: AnswerIn) -> dict[str, object]:
    return {"ballot": data.ballot, "choice": data.choice, "seq": 1}


app = Litestar([pair, answer], openapi_config=None)
