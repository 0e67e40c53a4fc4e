"""Shared fixtures. A real redis-server is started per session on a free port."""

from __future__ import annotations

import os

# One BLAS thread, as `ranker serve` runs (and scripts/test.sh sets): a threaded BLAS sums in an
# order that can differ by an ulp between two runs of the same computation, which exact state
# round trips would see. Set before numpy is imported by anything below.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_client import Api, make_api
from tests.redis_proc import RedisClusterProcesses, RedisProcess

pytest_plugins = ["tests.core_fixtures"]  # svc, workers, clock: the core use-case tests

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def api() -> Iterator[Api]:
    """The API over a fresh in-memory service (``tests/test_api_*``; a module may override it)."""
    with make_api() as a:
        yield a


@pytest.fixture
def org(api: Api) -> dict[str, str]:
    """The headers of a new organiser on ``api``."""
    return api.organiser()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real pairwise-comparison data sets (``../shared/data``)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """One real redis-server for the whole test session (flush between tests yourself)."""
    proc = RedisProcess(tmp_path_factory.mktemp("redis"))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def redis_url(redis_server: RedisProcess) -> Iterator[str]:
    """URL of a freshly flushed database on the session's redis-server."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    try:
        yield redis_server.url
    finally:
        client.flushall()
        client.close()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcesses]:
    """A real three-node Redis Cluster for the whole session (~5 s to form)."""
    cluster = RedisClusterProcesses(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterProcesses) -> Iterator[str]:
    """``redis+cluster://`` URL of the session's cluster, every node flushed."""
    import redis.cluster

    client = redis.cluster.RedisCluster.from_url(redis_cluster.url.replace("+cluster", ""))
    client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    try:
        yield redis_cluster.url
    finally:
        client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
        client.close()
