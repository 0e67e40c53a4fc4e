"""``ranker organiser``: list organisers, create one, or replace a lost organiser key.

::

    ranker organiser list
    ranker organiser create "Clinic team"
    ranker organiser rotate ORGANISER_ID      # or: ranker organiser rotate --survey SURVEY_ID

A key is shown once; only its hash is stored. ``rotate`` prints a new key for the same
organiser (their surveys stay theirs) and the old key stops working at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

__all__ = ["add_parser", "run_organiser"]

DEFAULT_STORE = "sqlite:///ranker.db"


def add_parser(sub: Any) -> None:
    """Register ``organiser`` with its actions ``list``, ``create`` and ``rotate``."""
    helptext = "list organisers, create one, or replace a lost organiser key"
    p = sub.add_parser("organiser", help=helptext, description=helptext)
    p.add_argument(
        "--store",
        default=None,
        help=f"storage URL (default $RANKER_STORE or {DEFAULT_STORE}, as `ranker serve`)",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="every organiser: id, name, created, surveys")
    create = actions.add_parser("create", help="a new organiser and its key (shown once)")
    create.add_argument("name", help="the organiser's name, e.g. a team or a person")
    rotate = actions.add_parser(
        "rotate", help="a new key for an organiser; the old key stops working"
    )
    who = rotate.add_mutually_exclusive_group(required=True)
    who.add_argument("organiser", nargs="?", help="the organiser's id (see `list`)")
    who.add_argument("--survey", help="the id of one of the organiser's surveys instead")
    p.set_defaults(func=run_organiser)


def run_organiser(args: argparse.Namespace) -> int:
    """Carry out the action; returns the exit code (2 on a refusal, with the reason)."""
    import secrets

    from ranker.errors import RankerError
    from ranker.service import RankerService
    from ranker.storage import open_store

    url = args.store or os.environ.get("RANKER_STORE") or DEFAULT_STORE
    if url.startswith("memory://"):
        print("ranker organiser: memory:// keeps nothing; use the server's store", file=sys.stderr)
        return 2
    store = open_store(url)
    # the service secret signs only voter tokens and ballots, which no action here needs
    svc = RankerService(store, secret=secrets.token_bytes(32), follow=False)
    try:
        if args.action == "list":
            owned: dict[str, int] = {}
            for s in svc.surveys.all():
                owned[s.owner] = owned.get(s.owner, 0) + 1
            for org in svc.accounts.all():
                when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(org.created))
                print(f"{org.id}\t{org.name}\tcreated {when}\t{owned.get(org.id, 0)} surveys")
            return 0
        if args.action == "create":
            org, key = svc.accounts.create(args.name)
            print(f"organiser {org.id} ({org.name})")
        else:
            organiser = args.organiser
            if args.survey:
                organiser = svc.surveys.get(args.survey).owner
            key = svc.accounts.rotate(organiser)
            print(f"organiser {organiser}: new key; the old key no longer works")
        print(f"  organiser key (shown once): {key}")
        print("  sign in at /dashboard with it, or send it as 'Authorization: Bearer <key>'")
        return 0
    except RankerError as exc:
        print(f"ranker organiser: {exc.message}", file=sys.stderr)
        return 2
    finally:
        svc.close()
        store.close()
