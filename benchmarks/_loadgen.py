"""A small HTTP/1.1 keep-alive load generator on raw asyncio sockets (one process).

Cheaper per request than httpx, so on a shared 2-core machine more of the CPU goes to the server
under test. Two modes, both driving *cycles* of requests (a cycle = get a pair + answer it):

- closed loop: ``concurrency`` connections each run cycles back to back for ``duration`` s;
  gives the maximum throughput.
- open loop: cycles start on a fixed schedule (``rate`` per second) whatever the server does;
  latency is measured from the *scheduled* start, so queueing delay is not hidden (no
  coordinated omission).

Run as ``python -m benchmarks._loadgen '<json spec>'`` (or ``-`` to read the spec from stdin);
prints one JSON result line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
            return status, data
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    idx = min(len(s) - 1, max(0, round(q / 100.0 * (len(s) - 1))))
    return s[idx]


class Workload:
    """What one cycle does. ``kind``: ``ranker`` (get a ballot, answer it), ``ranker_next`` (answer
    with ``next: true``, so a vote costs one request once each voter holds a ballot) or ``bare``."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.kind = spec["kind"]
        self.prefix = spec.get("prefix", "")
        self.voters: list[str] = spec.get("voters", [])
        self._next_voter = 0
        self.pending: dict[str, str] = {}
        self.errors: dict[str, int] = {}

    def _err(self, what: str, status: int) -> None:
        key = f"{what}:{status}"
        self.errors[key] = self.errors.get(key, 0) + 1

    async def cycle(self, conn: Conn, lat: list[float]) -> bool:
        if self.kind == "bare":
            t0 = time.perf_counter()
            st, body = await conn.request("GET", "/pair")
            t1 = time.perf_counter()
            ballot = json.loads(body)["ballot"]
            payload = json.dumps({"ballot": ballot, "choice": "left", "response_ms": 900})
            st2, _ = await conn.request("POST", "/answer", payload.encode())
            t2 = time.perf_counter()
            lat += [t1 - t0, t2 - t1]
            return st == 200 and st2 == 201
        voter = self.voters[self._next_voter % len(self.voters)]
        self._next_voter += 1
        hdr = {"X-Voter-Token": voter}
        if self.kind == "ranker_next":
            return await self._cycle_next(conn, lat, voter, hdr)
        t0 = time.perf_counter()
        st, body = await conn.request("POST", f"{self.prefix}/ballots", b"", hdr)
        t1 = time.perf_counter()
        if st != 201:
            self._err("ballot", st)
            return False
        ballot = json.loads(body)["ballot"]
        payload = json.dumps({"ballot": ballot, "choice": "left", "response_ms": 900})
        st2, _ = await conn.request("POST", f"{self.prefix}/answers", payload.encode(), hdr)
        t2 = time.perf_counter()
        lat += [t1 - t0, t2 - t1]
        if st2 != 201:
            self._err("answer", st2)
            return False
        return True

    async def _cycle_next(
        self, conn: Conn, lat: list[float], voter: str, hdr: dict[str, str]
    ) -> bool:
        """One request per vote: answer with ``next: true`` and keep the returned ballot."""
        ballot = self.pending.pop(voter, None)
        t0 = time.perf_counter()
        if ballot is None:
            st, body = await conn.request("POST", f"{self.prefix}/ballots", b"", hdr)
            if st != 201:
                self._err("ballot", st)
                return False
            ballot = json.loads(body)["ballot"]
        payload = json.dumps({"ballot": ballot, "choice": "left", "response_ms": 900, "next": True})
        st, body = await conn.request("POST", f"{self.prefix}/answers", payload.encode(), hdr)
        lat.append(time.perf_counter() - t0)
        if st != 201:
            self._err("answer", st)
            return False
        following = json.loads(body).get("next")
        if following:
            self.pending[voter] = following["ballot"]
        return True


async def closed_loop(spec: dict[str, Any]) -> dict[str, Any]:
    work = Workload(spec)
    conns = [Conn(spec["host"], spec["port"]) for _ in range(spec["concurrency"])]
    for c in conns:
        await c.open()
    lat: list[float] = []
    done = 0
    failed = 0
    stop = time.perf_counter() + spec["duration"]

    async def worker(conn: Conn) -> None:
        nonlocal done, failed
        while time.perf_counter() < stop:
            if await work.cycle(conn, lat):
                done += 1
            else:
                failed += 1

    # warm-up (not counted)
    for c in conns:
        await work.cycle(c, [])
    t0 = time.perf_counter()
    stop = t0 + spec["duration"]
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    return {
        "mode": "closed",
        "concurrency": spec["concurrency"],
        "cycles": done,
        "failed": failed,
        "errors": work.errors,
        "seconds": elapsed,
        "cycles_per_s": done / elapsed,
        "req_p50_ms": percentile(lat, 50) * 1e3,
        "req_p99_ms": percentile(lat, 99) * 1e3,
    }


async def open_loop(spec: dict[str, Any]) -> dict[str, Any]:
    work = Workload(spec)
    pool: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(spec["connections"]):
        c = Conn(spec["host"], spec["port"])
        await c.open()
        await work.cycle(c, [])  # warm-up
        pool.put_nowait(c)
    rate = float(spec["rate"])
    n = int(rate * spec["duration"])
    cycle_lat: list[float] = []
    req_lat: list[float] = []
    failed = 0
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        nonlocal failed
        scheduled = start + i / rate
        conn = await pool.get()
        ok = await work.cycle(conn, req_lat)
        pool.put_nowait(conn)
        cycle_lat.append(time.perf_counter() - scheduled)
        if not ok:
            failed += 1

    tasks = []
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    return {
        "mode": "open",
        "rate": rate,
        "cycles": n - failed,
        "failed": failed,
        "errors": work.errors,
        "seconds": elapsed,
        "achieved_cycles_per_s": n / elapsed,
        "cycle_p50_ms": percentile(cycle_lat, 50) * 1e3,
        "cycle_p99_ms": percentile(cycle_lat, 99) * 1e3,
        "req_p50_ms": percentile(req_lat, 50) * 1e3,
        "req_p99_ms": percentile(req_lat, 99) * 1e3,
    }


def main() -> None:
    spec = json.loads(sys.stdin.read() if sys.argv[1] == "-" else sys.argv[1])
    fn = closed_loop if spec["mode"] == "closed" else open_loop
    result = asyncio.run(fn(spec))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
