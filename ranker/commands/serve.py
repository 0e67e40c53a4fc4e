"""``ranker serve``: run the HTTP API with uvicorn; ``ranker demo``: the same with a demo survey.

The app is handed to uvicorn as the import string ``api.app:factory`` so that ``ranker`` never
imports ``api`` or ``litestar`` (the layering rule). Settings travel to the worker processes as
``RANKER_*`` environment variables.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

__all__ = ["add_parser", "run_serve"]

DEFAULT_STORE = "sqlite:///ranker.db"


def add_parser(sub: Any) -> None:
    """Register ``serve`` and its shortcut ``demo`` (``serve --demo``)."""
    for name in ("serve", "demo"):
        helptext = (
            "run the HTTP API (uvicorn)"
            if name == "serve"
            else "create a demo survey, print its URLs and organiser key, and serve it"
        )
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
        p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
        p.add_argument(
            "--store",
            default=None,
            help=f"storage URL: sqlite:///path, redis://host:port/db (default {DEFAULT_STORE}"
            " or $RANKER_STORE)",
        )
        p.add_argument("--config", default=None, help="TOML settings file (sets RANKER_CONFIG)")
        p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
        p.add_argument(
            "--forwarded-allow-ips",
            default=None,
            help="trust X-Forwarded-For/-Proto from these proxy IPs (comma-separated, or *); "
            "off by default, so per-IP limits see the real peer address",
        )
        if name == "serve":
            p.add_argument("--demo", action="store_true", help="create a demo survey first")
        else:
            p.add_argument(
                "--no-serve", action="store_true", help="only create the demo survey and exit"
            )
        p.set_defaults(func=run_serve, demo_command=name == "demo")


DEMO_QUESTION = "How should outpatient follow-up change after the pandemic?"
DEMO_IDEAS = [
    "Offer video appointments as the default for routine follow-up",
    "Let patients choose phone, video or in person when booking",
    "Patient-initiated follow-up instead of fixed review dates",
    "Evening and weekend clinics for working patients",
    "Send test results by secure message before the appointment",
    "A named nurse contact for each long-term condition",
    "Group follow-up sessions for people with the same condition",
    "Home blood tests and blood pressure readings sent in by patients",
    "Shorter waiting times for the first follow-up after discharge",
    "Interpreters available for video consultations",
    "Free parking or travel refunds for in-person visits",
    "Community clinics closer to home for routine checks",
    "Clear written plan after every appointment",
    "Pharmacists run medication reviews instead of consultants",
    "One combined appointment for several specialties",
    "Text reminders with an easy way to rebook",
    "Online self-check-in to cut time in the waiting room",
    "Carers can join consultations remotely",
    "Discharge from follow-up when the condition is stable, with an easy way back",
    "Peer support groups run with patient charities",
    "Wearable devices that alert the team to problems early",
    "Same clinician at every follow-up where possible",
    "Accessible booking for people without internet access",
    "Mental health check-in included in every follow-up",
    "Patients can read and correct their own clinic letters",
    "Triage of follow-up requests by an experienced nurse",
    "Video appointments on a fixed time slot, not a whole morning",
    "Quiet waiting areas for people with sensory needs",
    "Physiotherapy exercises taught by video between visits",
    "A single phone number for all follow-up questions",
    "Follow-up letters in plain language and in other languages",
    "Measure what matters to patients, not only clinic numbers",
]


DEMO_ORGANISER = "Demo organiser"


def create_demo(store_url: str, base_url: str) -> str:
    """Create a demo organiser and an open survey of a few dozen ideas; returns what to print.

    Run again on the same store, it reuses the demo organiser and survey and prints a new
    organiser key (the previous one stops working), so a store holds one demo, not one per run.
    The service secret only signs voter tokens and ballots, which creating a survey does not
    need, so a throwaway one is used here; the server uses the configured secret.
    """
    import secrets

    from ranker.domain import SurveySpec
    from ranker.service import RankerService
    from ranker.storage import open_store

    store = open_store(store_url)
    try:
        svc = RankerService(store, secret=secrets.token_bytes(32), follow=False)
        demos = [
            (org, s)
            for org in svc.accounts.all()
            if org.name == DEMO_ORGANISER
            for s in svc.surveys.all(org.id)
            if s.question == DEMO_QUESTION
        ]
        if demos:
            org, survey = demos[-1]
            key = svc.accounts.rotate(org.id)
            first = f"Demo survey {survey.id} (already in this store; a new organiser key)"
        else:
            org, key = svc.accounts.create(DEMO_ORGANISER)
            spec = SurveySpec(
                question=DEMO_QUESTION,
                description="A demo survey created by ranker demo. Vote on a few pairs, then "
                "sign in to the dashboard to see the ranking.",
                groups=["clinician", "patient", "carer"],
                show_results_to_voters=True,
                ideas=DEMO_IDEAS,
                open=True,
            )
            survey = svc.surveys.create(org.id, spec)
            first = f"Demo survey {survey.id}: {DEMO_QUESTION} ({len(DEMO_IDEAS)} ideas)"
        svc.close()
    finally:
        store.close()
    sid = survey.id
    return "\n".join(
        [
            first,
            f"  vote:       {base_url}/w/{sid}",
            f'  embed:      <script src="{base_url}/embed.js" data-survey="{sid}" async></script>',
            f"  results:    {base_url}/dashboard  (sign in with the organiser key)",
            f"  results API: curl -H 'Authorization: Bearer {key}' "
            f"{base_url}/v1/surveys/{sid}/results",
            f"  organiser key (shown once): {key}",
            "  (to embed on another site, add its address in the dashboard: Settings, "
            "Allowed embedding sites)",
            f"  lost the key? ranker organiser rotate {org.id}",
            f"  API docs:   {base_url}/docs",
        ]
    )


def _check(args: argparse.Namespace) -> str | None:
    if not 0 < args.port < 65536:
        return f"--port must be in 1..65535, got {args.port}"
    if args.workers < 1:
        return f"--workers must be >= 1, got {args.workers}"
    store = args.store or os.environ.get("RANKER_STORE") or DEFAULT_STORE
    schemes = ("sqlite://", "redis://", "rediss://", "redis+cluster://", "rediss+cluster://")
    if not store.startswith((*schemes, "memory://")):
        return (
            "--store must be sqlite:///path, redis://host:port/db, redis+cluster://host:port "
            f"or memory://, got {store!r}"
        )
    if store.startswith("memory://") and args.workers > 1:
        return "--store memory:// cannot be shared by several workers"
    return None


def run_serve(args: argparse.Namespace) -> int:
    """Start uvicorn on ``api.app:factory``; returns the exit code."""
    problem = _check(args)
    if problem:
        print(f"ranker {'demo' if args.demo_command else 'serve'}: {problem}", file=sys.stderr)
        return 2
    if args.store:
        os.environ["RANKER_STORE"] = args.store
    os.environ.setdefault("RANKER_STORE", DEFAULT_STORE)
    if args.config:
        os.environ["RANKER_CONFIG"] = args.config
    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    os.environ.setdefault("RANKER_PUBLIC_URL", base)
    if args.demo_command or getattr(args, "demo", False):
        if os.environ["RANKER_STORE"].startswith("memory://"):
            print("ranker serve: --demo needs a shared store (sqlite or redis)", file=sys.stderr)
            return 2
        from ranker.errors import RankerError

        try:
            text = create_demo(os.environ["RANKER_STORE"], os.environ["RANKER_PUBLIC_URL"])
        except RankerError as exc:
            print(f"ranker demo: {exc.message}", file=sys.stderr)
            return 2
        print(text, flush=True)
        if getattr(args, "no_serve", False):
            return 0
    # the settings are the API's (ranker does not import api): check them in a child process,
    # so a bad one stops here, once, before uvicorn starts (and would restart) any worker
    checked = subprocess.run([sys.executable, "-m", "api.preflight"], check=False)
    if checked.returncode != 0:
        return 2
    if args.workers > 1:
        # workers stop if this master is killed: they are told its pid, so one that starts
        # after the master died (already re-parented) sees it too
        os.environ["RANKER_EXIT_WITH_PARENT"] = str(os.getpid())
    # a worker's linear algebra is small (one survey's model): OpenBLAS's threads only make
    # it wait for busy cores (a 100-item fit took 43 ms instead of 8 ms on a loaded machine)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import uvicorn

    uvicorn.run(
        "api.app:factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        proxy_headers=args.forwarded_allow_ips is not None,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0
