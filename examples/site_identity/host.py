"""A host site that embeds a ranker survey for its signed-in users ("site" identity mode).

The site keeps its private key; the survey holds the public half. For each signed-in user the
site signs a short-lived JWT naming the user (``sub``), the survey (``aud``) and itself
(``iss``); the embed loader fetches it from ``/ranker-token`` (same origin, with the user's
cookies) and hands it to the widget. ranker derives one voter per site user from it, on every
device. Run it (see README.md beside this file)::

    python examples/site_identity/host.py --ranker http://127.0.0.1:8000 --survey SURVEY_ID \\
        --key site-private.pem --port 8080

then open http://localhost:8080/login?user=alice. "Signing in" here is only a cookie naming the
user: a real site uses its own sessions.
"""

from __future__ import annotations

import argparse
import html
import json
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

ISSUER = "https://host.example"
"""What the survey's ``identity.site_issuer`` is set to."""


def site_token(private_key_pem: str, survey_id: str, user_id: str, ttl_s: int = 600) -> str:
    """The token this site signs for one of its users: these few lines are all a site needs."""
    now = int(time.time())
    claims = {"sub": user_id, "aud": survey_id, "iss": ISSUER, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, private_key_pem, algorithm="ES256")  # an EC P-256 key


def page(ranker: str, survey_id: str, user: str | None) -> str:
    """The host page: the one-script-tag embed, with the token URL when someone is signed in."""
    if user is None:
        body = "<p>You are not signed in. <a href='/login?user=alice'>Sign in as alice</a>.</p>"
    else:
        body = (
            f"<p>Signed in as <b>{html.escape(user)}</b> (<a href='/logout'>sign out</a>).</p>"
            f'<script src="{html.escape(ranker)}/embed.js" data-survey="{html.escape(survey_id)}"'
            ' data-site-token-url="/ranker-token" async></script>'
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Host site</title>"
        "</head><body><h1>Staff forum</h1>" + body + "</body></html>"
    )


def make_server(
    ranker: str, survey_id: str, private_key_pem: str, port: int = 0
) -> ThreadingHTTPServer:
    """The host site on ``localhost:port`` (0: a free port); call ``serve_forever()`` on it."""

    class Handler(BaseHTTPRequestHandler):
        def _user(self) -> str | None:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            return cookie["user"].value if "user" in cookie else None

        def _send(self, status: int, body: str, ctype: str, **headers: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for k, v in headers.items():
                self.send_header(k.replace("_", "-"), v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            user = self._user()
            if url.path == "/":
                self._send(200, page(ranker, survey_id, user), "text/html; charset=utf-8")
            elif url.path == "/login":
                name = parse_qs(url.query).get("user", ["alice"])[0][:64]
                cookie = f"user={name}; Path=/; HttpOnly; SameSite=Lax"
                self._send(303, "", "text/plain", Location="/", Set_Cookie=cookie)
            elif url.path == "/logout":
                cookie = "user=; Path=/; Max-Age=0"
                self._send(303, "", "text/plain", Location="/", Set_Cookie=cookie)
            elif url.path == "/ranker-token":  # only for a signed-in user of this site
                if user is None:
                    self._send(401, "not signed in", "text/plain")
                else:
                    token = site_token(private_key_pem, survey_id, user)
                    self._send(200, json.dumps({"token": token}), "application/json")
            else:
                self._send(404, "not found", "text/plain")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("localhost", port), Handler)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ranker", required=True, help="the ranker server, e.g. http://127.0.0.1:8000")
    ap.add_argument("--survey", required=True, help="the survey id")
    ap.add_argument("--key", required=True, help="this site's private key (PEM, EC P-256)")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()
    server = make_server(args.ranker, args.survey, Path(args.key).read_text(), args.port)
    print(f"host site on http://localhost:{server.server_address[1]}/login?user=alice")
    server.serve_forever()


if __name__ == "__main__":
    main()
