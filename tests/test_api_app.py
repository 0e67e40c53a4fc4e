"""The app factory, settings, readiness, the ROUTERS hook and ``ranker serve`` / ``ranker demo``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Router, get
from litestar.testing import TestClient

import api.app as app_module
from api.app import create_app
from api.settings import Settings, SettingsError
from ranker.cli import main as cli_main
from ranker.service import RankerService
from ranker.storage import open_store
from ranker.storage.memory import MemoryStore
from tests.api_client import SECRET, assert_problem
from tests.redis_proc import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_settings_precedence_env_over_file(tmp_path: Path) -> None:
    conf = tmp_path / "ranker.toml"
    conf.write_text('[ranker]\nstore = "memory://"\nmax_body_bytes = 1000\nadmin_token = "file"\n')
    s = Settings.load(environ={"RANKER_CONFIG": str(conf), "RANKER_ADMIN_TOKEN": "env"})
    assert (s.store, s.max_body_bytes, s.admin_token) == ("memory://", 1000, "env")
    s = Settings.load(environ={}, config_file=conf, store="sqlite:///x.db")
    assert s.store == "sqlite:///x.db"
    assert Settings.load(environ={"RANKER_OPEN_SIGNUP": "true"}).open_signup is True


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"RANKER_MAX_BODY_BYTES": "0"}, "max_body_bytes"),
        ({"RANKER_MAX_BODY_BYTES": "lots"}, "max_body_bytes"),
        ({"RANKER_SSE_INTERVAL_S": "-1"}, "sse_interval_s"),
        ({"RANKER_CONFIG": "/nonexistent/ranker.toml"}, "config file"),
    ],
)
def test_bad_settings_name_the_setting(env: dict[str, str], word: str) -> None:
    with pytest.raises(SettingsError, match=word):
        Settings.load(environ=env)


def test_unknown_key_in_config_file_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text('stor = "memory://"\n')
    with pytest.raises(SettingsError, match="stor"):
        Settings.load(environ={}, config_file=conf)


def test_secret_file_is_created_private_and_reused(tmp_path: Path) -> None:
    s = Settings(secret_file=str(tmp_path / "k" / "secret"))
    first = s.secret_bytes()
    assert len(first) >= 32 and first == s.secret_bytes()
    mode = stat.S_IMODE((tmp_path / "k" / "secret").stat().st_mode)
    assert mode == 0o600
    (tmp_path / "short").write_text("abc")
    with pytest.raises(SettingsError, match="fewer than 32"):
        Settings(secret_file=str(tmp_path / "short")).secret_bytes()
    assert Settings(secret="x" * 40).secret_bytes() == b"x" * 40


def test_health_and_ready() -> None:
    svc = RankerService(open_store("memory://"), secret=SECRET.encode())
    with TestClient(create_app(Settings(store="memory://", secret=SECRET), service=svc)) as c:
        assert c.get("/health").json() == {"status": "ok"}
        assert c.get("/ready").json() == {"status": "ready", "store": "memory"}


class BrokenStore(MemoryStore):
    def head(self, survey: str) -> int:
        raise ConnectionError("store down")


def test_ready_is_503_when_the_store_fails() -> None:
    svc = RankerService(BrokenStore(), secret=SECRET.encode())
    with TestClient(create_app(Settings(store="memory://", secret=SECRET), service=svc)) as c:
        assert_problem(c.get("/ready"), 503, "not_ready")


def test_routers_hook_mounts_extra_routers(monkeypatch: pytest.MonkeyPatch) -> None:
    @get("/extra-route", sync_to_thread=False)
    def extra() -> dict[str, str]:
        return {"hello": "world"}

    monkeypatch.setattr(
        app_module,
        "ROUTERS",
        [*app_module.ROUTERS, Router("/", route_handlers=[extra])],
    )
    svc = RankerService(open_store("memory://"), secret=SECRET.encode())
    with TestClient(create_app(Settings(store="memory://", secret=SECRET), service=svc)) as c:
        assert c.get("/extra-route").json() == {"hello": "world"}


def test_docs_can_be_switched_off() -> None:
    svc = RankerService(open_store("memory://"), secret=SECRET.encode())
    with TestClient(
        create_app(Settings(store="memory://", secret=SECRET, docs=False), service=svc)
    ) as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/schema/openapi.json").status_code == 404


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--port", "0"], "--port"),
        (["serve", "--workers", "0"], "--workers"),
        (["serve", "--store", "postgres://x"], "--store"),
        (["serve", "--store", "memory://", "--workers", "2"], "memory"),
        (["demo", "--store", "memory://"], "shared store"),
    ],
)
def test_serve_refuses_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(argv) == 2
    assert message in capsys.readouterr().err


def test_demo_creates_an_open_survey(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RANKER_STORE", raising=False)
    monkeypatch.delenv("RANKER_PUBLIC_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert cli_main(["demo", "--store", url, "--port", "9999", "--no-serve"]) == 0
    out = capsys.readouterr().out
    key = out.split("organiser key (shown once): ")[1].split()[0]
    sid = out.split("Demo survey ")[1].split(":")[0]
    assert f"http://127.0.0.1:9999/w/{sid}" in out
    svc = RankerService(open_store(url), secret=SECRET.encode())
    org = svc.accounts.authenticate(key)
    survey = svc.surveys.get(sid)
    assert survey.owner == org.id and survey.status == "open"
    assert len(svc.ideas.all(sid, "active")) >= 24


@contextlib.contextmanager
def serving(tmp_path: Path, store: str, workers: int = 1) -> Iterator[str]:
    """``ranker serve`` as a real subprocess on a free port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "RANKER_SECRET": SECRET,
        "RANKER_ADMIN_TOKEN": "adm",
        "PYTHONPATH": str(ROOT),
        "RANKER_SSE_INTERVAL_S": "0.05",
        "RANKER_VOTERS_PER_IP_PER_MINUTE": "0",
    }
    cmd = [sys.executable, "-m", "ranker.cli", "serve", "--port", str(port), "--store", store]
    proc = subprocess.Popen(
        [*cmd, "--workers", str(workers), "--log-level", "warning"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the workers too are stopped with the group below
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died")
            try:
                if httpx.get(f"{base}/ready", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``ranker serve`` on SQLite in tmp_path, one worker."""
    with serving(tmp_path, f"sqlite:///{tmp_path / 'r.db'}") as base:
        yield base


def test_real_server_votes_and_streams(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as c:
        key = c.post(
            "/v1/organisers", json={"name": "o"}, headers={"Authorization": "Bearer adm"}
        ).json()["api_key"]
        org = {"Authorization": f"Bearer {key}"}
        sid = c.post(
            "/v1/surveys",
            json={"question": "Q?", "ideas": ["a", "b", "c"], "open": True},
            headers=org,
        ).json()["id"]
        voter = {"X-Voter-Token": c.post(f"/v1/public/surveys/{sid}/voters").json()["token"]}
        ballot = c.post(f"/v1/public/surveys/{sid}/ballots", headers=voter).json()["ballot"]
        r = c.post(
            f"/v1/public/surveys/{sid}/answers",
            json={"ballot": ballot, "choice": "left"},
            headers=voter,
        )
        assert r.status_code == 201
        first: dict[str, Any] = {}
        with c.stream("GET", f"/v1/surveys/{sid}/stream", headers=org) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            for line in resp.iter_lines():
                if line.startswith("data:"):
                    first = json.loads(line[5:])
                    break
        assert first["n_votes"] == 1 and first["survey"] == sid
        big = c.post(
            "/v1/surveys",
            content=b"{" + b" " * 70_000 + b"}",
            headers={**org, "Content-Type": "application/json"},
        )
        assert big.status_code == 413
        assert c.get("/docs").status_code == 200


def test_secret_file_race_gives_every_worker_the_same_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("w" * 43 + "\n")  # another worker won the race
    assert Settings(secret_file=str(path)).secret_bytes() == b"w" * 43
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]  # no temp files left behind


@pytest.mark.parametrize("module", ["api.settings", "api.security"])
def test_module_doctests(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_a_serving_process_freezes_its_warmed_up_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    monkeypatch.setenv("RANKER_STORE", "memory://")
    monkeypatch.setenv("RANKER_SECRET", SECRET)
    app = app_module.factory()
    assert app_module.settle_heap in app.on_startup
    assert (
        app_module.settle_heap
        not in create_app(Settings(store="memory://", secret=SECRET)).on_startup
    )  # tests and embedders keep the default GC
    try:
        app_module.settle_heap()
        from algorithms.samplers._kernels import _top_gain

        assert _top_gain.signatures  # the warm-up loaded the sampler's compiled kernel
        assert gc.get_freeze_count() > 10_000  # Litestar, numpy, numba kernels...
        assert len(gc.get_objects()) < gc.get_freeze_count() / 10  # little left to scan
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ],
)
def test_two_worker_processes_share_ballots_quotas_and_counts(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """``ranker serve --workers 2``: requests on fresh connections land on either process;
    what must hold across processes is decided by the store: one answer per ballot, the
    ideas-per-voter quota, every accepted answer counted once."""
    from concurrent.futures import ThreadPoolExecutor

    fixture = {"redis": "redis_url", "redis-cluster": "redis_cluster_url"}.get(backend)
    store = str(request.getfixturevalue(fixture)) if fixture else f"sqlite:///{tmp_path / 'w.db'}"

    def call(method: str, url: str, **kw: Any) -> httpx.Response:
        with httpx.Client(timeout=30) as c:  # a new connection each time: either worker
            return c.request(method, url, **kw)

    with serving(tmp_path, store, workers=2) as base:
        key = call(
            "POST",
            f"{base}/v1/organisers",
            json={"name": "o"},
            headers={"Authorization": "Bearer adm"},
        ).json()["api_key"]
        org = {"Authorization": f"Bearer {key}"}
        sid = call(
            "POST",
            f"{base}/v1/surveys",
            headers=org,
            json={
                "question": "Q?",
                "ideas": [f"idea {i}" for i in range(8)],
                "open": True,
                "moderate_ideas": False,
                "limits": {"ideas_per_voter": 3},
            },
        ).json()["id"]
        pub = f"{base}/v1/public/surveys/{sid}"
        voter = {"X-Voter-Token": call("POST", f"{pub}/voters").json()["token"]}
        with ThreadPoolExecutor(8) as pool:
            ideas = list(
                pool.map(
                    lambda i: call(
                        "POST", f"{pub}/ideas", json={"text": f"mine {i}"}, headers=voter
                    ),
                    range(12),
                )
            )
            assert sorted(r.status_code for r in ideas) == [201] * 3 + [429] * 9
            ballot = call("POST", f"{pub}/ballots", headers=voter).json()["ballot"]
            same = list(
                pool.map(
                    lambda c: call(
                        "POST",
                        f"{pub}/answers",
                        headers=voter,
                        json={"ballot": ballot, "choice": c},
                    ),
                    ["left"] * 6 + ["right"] * 6,
                )
            )
            ok = [r for r in same if r.status_code == 201]
            assert ok and len({r.json()["seq"] for r in ok}) == 1  # one answer, retries agree
            assert {r.json()["choice"] for r in ok} == {ok[0].json()["choice"]}
            assert all(
                r.status_code == 409 and r.json()["code"] == "ballot_used"
                for r in same
                if r.status_code != 201
            )
            voters = [
                {"X-Voter-Token": call("POST", f"{pub}/voters").json()["token"]} for _ in range(6)
            ]

            def vote_five(v: dict[str, str]) -> int:
                n = 0
                for _ in range(5):
                    b = call("POST", f"{pub}/ballots", headers=v).json()["ballot"]
                    r = call(
                        "POST", f"{pub}/answers", headers=v, json={"ballot": b, "choice": "tie"}
                    )
                    n += r.status_code == 201
                return n

            accepted = sum(pool.map(vote_five, voters))
        assert accepted == 30
        res = call("GET", f"{base}/v1/surveys/{sid}/results", headers=org).json()
        assert res["n_votes"] == 31  # 30 + the contested ballot, once
        listed = call("GET", f"{base}/v1/surveys/{sid}/ideas", headers=org).json()["ideas"]
        assert sum(i["text"].startswith("mine") for i in listed) == 3


def test_a_short_secret_is_one_clear_line_and_exit_2_even_with_workers(tmp_path: Path) -> None:
    env = {**os.environ, "RANKER_SECRET": "short", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "ranker.cli", "serve", "--port", str(free_port())]
    r = subprocess.run(
        [*cmd, "--workers", "2", "--store", f"sqlite:///{tmp_path / 'r.db'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "RANKER_SECRET" in lines[0] and "16 bytes" in lines[0], lines
    assert "Traceback" not in r.stderr


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_workers_stop_when_their_master_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the ``--workers 2`` master used to leave both workers serving the port."""
    with serving(tmp_path, f"sqlite:///{tmp_path / 'r.db'}", workers=2) as base:
        master = next(
            p.pid
            for p in psutil_like_processes()
            if f"--port {base.rsplit(':', 1)[1]}" in p.cmdline
        )
        workers = [c for c in _children(master) if "spawn_main" in _cmdline(c)]
        assert len(workers) == 2, workers
        try:
            os.kill(master, signal.SIGKILL)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and any(_alive(w) for w in workers):
                time.sleep(0.1)
            assert not any(_alive(w) for w in workers)
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"{base}/health", timeout=1)
        finally:
            for w in workers:  # never leave a worker behind, whatever the outcome
                if _alive(w):
                    os.kill(w, signal.SIGKILL)


def test_a_worker_that_starts_after_its_master_died_stops_too() -> None:
    """The worker is told its master's pid: one still starting when the master was killed has
    been re-parented already, and used to take its new parent for the master and serve on."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a master that died before the worker started
    code = (
        "import time; from api.app import exit_with_parent; "
        f"exit_with_parent({gone.pid}, interval_s=0.05); time.sleep(30)"
    )
    started = time.monotonic()
    worker = subprocess.run([sys.executable, "-c", code], timeout=25, check=False)
    assert worker.returncode == -signal.SIGTERM  # stopped by its own SIGTERM at once
    assert time.monotonic() - started < 20
    # with its master alive (this process), it keeps running
    watched = subprocess.Popen(
        [sys.executable, "-c", code.replace(str(gone.pid), str(os.getpid()))]
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            watched.wait(timeout=3)
    finally:
        watched.kill()
        watched.wait()


class _Proc:
    def __init__(self, pid: int, cmdline: str) -> None:
        self.pid, self.cmdline = pid, cmdline


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def psutil_like_processes() -> list[_Proc]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            out.append(_Proc(int(entry.name), _cmdline(int(entry.name))))
    return out
