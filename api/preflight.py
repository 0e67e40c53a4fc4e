"""Check the server's settings once, before any worker starts: ``python -m api.preflight``.

``ranker serve`` runs it first, so a bad setting (a ``RANKER_SECRET`` shorter than 16 bytes,
an unreadable config file, an unknown key) is one clear line and exit status 2, instead of a
traceback in every worker and, with ``--workers 2``, uvicorn restarting the failing workers
for ever while ``/health`` never answers.
"""

from __future__ import annotations

import sys

from api.settings import Settings, SettingsError

__all__ = ["main"]


def main() -> int:
    """0 when the settings load and the secret is usable; else print the problem, 2."""
    try:
        Settings.load().secret_bytes()
    except SettingsError as exc:
        print(f"ranker serve: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
