"""The ranker product core: surveys, ideas, ballots, the event log, storage and the CLI.

Knows nothing of HTTP; builds on :mod:`algorithms`.
"""

__all__: list[str] = []
