"""Server settings: one msgspec Struct read from a TOML file and/or ``RANKER_*`` variables.

Precedence, lowest first: defaults, the TOML file (``RANKER_CONFIG`` or ``config_file``),
environment variables. Every field ``name`` can be set as ``RANKER_<NAME>``; list fields take a
comma-separated value.

>>> s = Settings.load(environ={"RANKER_STORE": "memory://", "RANKER_MAX_BODY_BYTES": "5000"})
>>> (s.store, s.max_body_bytes)
('memory://', 5000)
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

__all__ = ["MIN_SECRET_BYTES", "Settings", "SettingsError"]

PositiveInt = Annotated[int, Meta(ge=1)]
PositiveFloat = Annotated[float, Meta(gt=0)]


class SettingsError(ValueError):
    """A setting is missing, unknown or out of range; the message names it."""


MIN_SECRET_BYTES = 16
"""Shortest HMAC key accepted (the token signer's own floor)."""


class Settings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Everything the HTTP server can be configured with (see ``docs/operations.md``)."""

    store: str = "sqlite:///ranker.db"
    """Storage URL: ``sqlite:///path``, ``redis://host:port/db`` or ``memory://``."""
    secret: str = ""
    """HMAC key for voter tokens and ballots. Empty: read/create ``secret_file``."""
    secret_file: str = "ranker.secret"
    """Where the generated secret is kept (mode 0600) when ``secret`` is empty."""
    admin_token: str = ""
    """Bearer token allowed to create organisers (``POST /v1/organisers``). Empty: disabled."""
    open_signup: bool = False
    """Let anyone create an organiser (demos only)."""
    max_body_bytes: PositiveInt = 64 * 1024
    max_import_bytes: PositiveInt = 1024 * 1024
    voters_per_ip_per_minute: Annotated[int, Meta(ge=0)] = 600
    """New voter tokens per client IP per minute (0: unlimited), counted in the store."""
    sse_interval_s: PositiveFloat = 1.0
    sse_ping_s: PositiveFloat = 15.0
    sse_max_s: PositiveFloat = 300.0
    """A results stream ends after this long; ``EventSource`` reconnects by itself."""
    docs: bool = True
    """Serve ``/docs`` and ``/schema``."""

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Build settings from a TOML file, the environment and keyword overrides."""
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {}
        path = config_file or env.get("RANKER_CONFIG")
        if path:
            try:
                with open(path, "rb") as fh:
                    data = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SettingsError(f"cannot read config file {path}: {exc}") from exc
            raw.update(data.get("ranker", data))
        for field in msgspec.structs.fields(cls):
            key = f"RANKER_{field.name.upper()}"
            if key in env:
                raw[field.name] = env[key]
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"invalid setting: {exc}") from exc

    def secret_bytes(self) -> bytes:
        """The HMAC key; creates ``secret_file`` with a fresh 256-bit key on first use."""
        if self.secret:
            key = self.secret.encode()
            if len(key) < MIN_SECRET_BYTES:
                raise SettingsError(
                    f"RANKER_SECRET (setting 'secret') must be at least {MIN_SECRET_BYTES} bytes; "
                    f"it has {len(key)} (or leave it empty to have one generated in "
                    "secret_file)"
                )
            return key
        path = Path(self.secret_file)
        if path.exists():
            value = path.read_text().strip()
            if len(value) < 32:
                raise SettingsError(f"secret file {path} holds fewer than 32 characters")
            return value.encode()
        # several workers may start at once: write a private temp file, then hard-link it into
        # place (atomic, fails if another worker won the race; then use the winner's secret)
        value = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            return self.secret_bytes()
        finally:
            tmp.unlink()
        return value.encode()
