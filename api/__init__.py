"""HTTP API (Litestar) over :mod:`ranker`: routes, auth, problem details, web assets."""

__all__: list[str] = []
