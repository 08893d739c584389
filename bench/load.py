"""Load: N concurrent clients for T seconds against ``honeydue api`` + ``gateway`` + ``worker``.

    python bench/load.py                          # 16 clients, 20 s
    python bench/load.py --clients 2 --seconds 3  # CI smoke run

It starts, around a fresh PostgreSQL database (dropped afterwards) and Redis DB 14 (flushed before and
after), the signature-checking S3 test server (``tests/s3server.py``, moto in this process) and the three
production processes. Each client is one user with a residence of daily tasks and a READY document file,
and loops over a realistic mix until the time is up:

* ``upcomingTasks``  (40 %)  the app's home screen;
* ``completeTask``   (20 %)  a chore done, next due date computed;
* ``upload``         (10 %)  ``requestUpload`` + PUT to the bucket + ``finalizeUpload`` (HEAD + sniff);
* ``download_range`` (30 %)  a random byte range of the file through a signed gateway link.

Any non-2xx answer, GraphQL error, ``userErrors`` entry or wrong byte counts as an error. It prints ONE JSON
line: total requests and requests/s (an upload counts three HTTP requests, the others one), p50/p99 in ms
per operation, ``errors`` (must be 0) and the peak RSS in MB of each process (the worker with its children).
The upload rate limit is raised for the run (``UPLOAD_RATE_PER_HOUR``): the limit is a policy, not a cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil
import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.s3server import S3TestServer  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(64 * 1024)
PASSWORD = "correct horse battery"
MIX = (("upcomingTasks", 40), ("completeTask", 20), ("upload", 10), ("download_range", 30))
TASKS_PER_CLIENT = 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--postgres-admin-url",
                        default=os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--print-pids", action="store_true",
                        help="print the api/gateway/worker PIDs to stderr once they are up (to attach a profiler, "
                             "e.g. py-spy record --pid PID)")
    return parser.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the services -------------------------------------------------------------------------------------------


async def admin_sql(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    name = f"honeydue_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(admin_sql(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def flushed_redis(url: str) -> Iterator[str]:
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@contextmanager
def process(command: list[str], env: dict[str, str], workdir: Path, health_url: str | None) -> Iterator[psutil.Process]:
    """One ``honeydue`` process, healthy before the run starts and terminated after it."""
    log = (workdir / f"{command[0]}.log").open("wb")
    popen = subprocess.Popen([sys.executable, "-m", "honeydue.cli", *command], env=env, cwd=workdir,
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while health_url is not None:
            if popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start:\n{(workdir / f'{command[0]}.log').read_text()}")
            try:
                if httpx.get(health_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield psutil.Process(popen.pid)
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
        log.close()


class PeakRss:
    """Samples each process's resident memory (children included) until stopped; keeps the peak."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self.processes = processes
        self.peak: dict[str, int] = dict.fromkeys(processes, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self, proc: psutil.Process) -> int:
        total = 0
        for p in [proc, *proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, proc in self.processes.items():
                try:
                    self.peak[name] = max(self.peak[name], self._rss(proc))
                except psutil.Error:
                    pass
            self._stop.wait(0.1)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the clients --------------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def fail(self, op: str, detail: object) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{op}: {str(detail)[:300]}")


class Refused(Exception):
    pass


async def gql(http: httpx.AsyncClient, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    body = response.json() if response.status_code == 200 else None
    if body is None or body.get("errors"):
        raise Refused(f"{response.status_code} {response.text[:300]}")
    (payload,) = body["data"].values()
    if isinstance(payload, dict) and payload.get("userErrors"):
        raise Refused(payload["userErrors"])
    return payload


REQUEST = """mutation($i: RequestUploadInput!) { requestUpload(input: $i) {
  media { id } upload { url headers { name value } } userErrors { code } } }"""
FINALIZE = """mutation($id: ID!) { finalizeUpload(input: {mediaId: $id}) {
  media { status url } userErrors { code } } }"""


@dataclass
class Client:
    http: httpx.AsyncClient
    token: str
    residence_id: str
    task_ids: list[str]
    file_url: str = ""


async def upload(client: Client) -> str:
    requested = await gql(client.http, REQUEST, {"i": {
        "purpose": "DOCUMENT_FILE", "targetId": client.residence_id, "filename": "scan.png",
        "contentType": "image/png", "size": len(PNG)}}, client.token)
    target = requested["upload"]
    put = await client.http.put(target["url"], content=PNG, headers={h["name"]: h["value"] for h in target["headers"]})
    if put.status_code != 200:
        raise Refused(f"PUT {put.status_code} {put.text[:200]}")
    media = (await gql(client.http, FINALIZE, {"id": requested["media"]["id"]}, client.token))["media"]
    if media["status"] != "READY":
        raise Refused(media)
    return media["url"]


async def make_client(http: httpx.AsyncClient, index: int) -> Client:
    token = (await gql(http, "mutation($i: RegisterInput!) { register(input: $i) { token userErrors { code } } }",
                       {"i": {"email": f"load-{index}-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD,
                              "displayName": f"Load {index}"}}))["token"]
    residence = await gql(http, "mutation { createResidence(input: {name: \"Home\"}) { residence { id } "
                                "userErrors { code } } }", {}, token)
    rid = residence["residence"]["id"]
    tasks = []
    for n in range(TASKS_PER_CLIENT):
        created = await gql(http, "mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id } "
                                  "userErrors { code } } }",
                            {"i": {"residenceId": rid, "title": f"Chore {n}", "frequency": "DAILY",
                                   "dueDate": time.strftime("%Y-%m-%d")}}, token)
        tasks.append(created["task"]["id"])
    client = Client(http, token, rid, tasks)
    client.file_url = await upload(client)
    return client


async def one_operation(op: str, client: Client, rng: random.Random) -> int:
    """Run ``op`` once; returns how many HTTP requests it made. Raises on any wrong answer."""
    if op == "upcomingTasks":
        page = await gql(client.http, "{ upcomingTasks(days: 30, first: 20) { totalCount edges { node { id title "
                                      "dueDate column } } } }", {}, client.token)
        if page["totalCount"] < 1:
            raise Refused(page)
        return 1
    if op == "completeTask":
        done = await gql(client.http, "mutation($i: CompleteTaskInput!) { completeTask(input: $i) { "
                                      "completion { id } task { dueDate } userErrors { code } } }",
                         {"i": {"taskId": rng.choice(client.task_ids), "notes": "done"}}, client.token)
        if not done["completion"]:
            raise Refused(done)
        return 1
    if op == "upload":
        await upload(client)
        return 3
    first = rng.randrange(len(PNG))
    last = min(len(PNG) - 1, first + rng.randrange(1, 16 * 1024))
    response = await client.http.get(client.file_url, headers={"Range": f"bytes={first}-{last}"})
    if response.status_code != 206 or response.content != PNG[first:last + 1]:
        raise Refused(f"range {first}-{last}: {response.status_code}")
    return 1


async def run_client(client: Client, deadline: float, stats: Stats, seed: int) -> None:
    rng = random.Random(seed)
    names, weights = zip(*MIX, strict=True)
    while time.monotonic() < deadline:
        op = rng.choices(names, weights)[0]
        started = time.perf_counter()
        try:
            made = await one_operation(op, client, rng)
        except (Refused, httpx.HTTPError, ValueError) as exc:
            stats.fail(op, exc)
            continue
        stats.requests += made  # after the await: ``x += await f()`` would read x before awaiting
        stats.latencies[op].append(time.perf_counter() - started)


async def drive(api_url: str, clients: int, seconds: float, seed: int,
                on_start: Callable[[], None] = lambda: None) -> tuple[Stats, float]:
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(base_url=api_url, timeout=60, limits=limits) as http:
        prepared = [await make_client(http, i) for i in range(clients)]
        stats = Stats()
        on_start()
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(run_client(c, deadline, stats, seed + i) for i, c in enumerate(prepared)))
        return stats, time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU time of ``proc`` and its live children so far."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def report(args: argparse.Namespace, stats: Stats, elapsed: float, peak: dict[str, int],
           cpu: dict[str, float]) -> dict:
    return {
        "clients": args.clients,
        "seconds": round(elapsed, 2),
        "requests": stats.requests,
        "requests_per_second": round(stats.requests / elapsed, 1),
        "operations": {op: {"count": len(v), "p50_ms": round(percentile(v, 50) * 1000, 1),
                            "p99_ms": round(percentile(v, 99) * 1000, 1)}
                       for op, v in sorted(stats.latencies.items()) if v},
        "errors": stats.errors,
        "error_samples": stats.error_samples,
        "peak_rss_mb": {name: round(value / 2**20, 1) for name, value in peak.items()},
        "cpu_ms_per_request": {name: round(1000 * value / max(stats.requests, 1), 2) for name, value in cpu.items()},
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="honeydue-load-")))
        database_url = stack.enter_context(fresh_database(args.postgres_admin_url))
        redis_url = stack.enter_context(flushed_redis(args.redis_url))
        s3 = stack.enter_context(S3TestServer())
        bucket = s3.make_bucket(f"honeyDue-load-{uuid.uuid4().hex[:8]}")
        api_port, gateway_port = free_port(), free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL"))},
               "DATABASE_URL": database_url, "REDIS_URL": redis_url, "HONEYDUE_VAR_DIR": str(workdir / "var"),
               "MEDIA_SIGNING_KEY": "load-signing-key-" + "l" * 32, "LOG_LEVEL": "WARNING", "LOG_FORMAT": "text",
               "PUBLIC_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}", "UPLOAD_RATE_PER_HOUR": "1000000",
               "B2_ENDPOINT": s3.endpoint_url, "B2_REGION": s3.region, "B2_BUCKET_NAME": bucket,
               "B2_KEY_ID": s3.access_key, "B2_APP_KEY": s3.secret_key, "B2_USE_SSL": "false",
               "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-m", "honeydue.cli", "migrate"], env=env, cwd=workdir, check=True,
                       capture_output=True, timeout=120)
        processes = {
            "api": stack.enter_context(process(["api", "--port", str(api_port)], env, workdir,
                                               f"http://127.0.0.1:{api_port}/healthz")),
            "gateway": stack.enter_context(process(["gateway", "--port", str(gateway_port)], env, workdir,
                                                   f"http://127.0.0.1:{gateway_port}/healthz")),
            "worker": stack.enter_context(process(["worker", "--processes", "1", "--threads", "2"], env, workdir,
                                                  None)),
        }
        if args.print_pids:
            print(json.dumps({name: proc.pid for name, proc in processes.items()}), file=sys.stderr, flush=True)
        cpu_before: dict[str, float] = {}

        def start_cpu_clock() -> None:
            cpu_before.update({name: cpu_seconds(proc) for name, proc in processes.items()})

        with PeakRss(processes) as rss:
            stats, elapsed = asyncio.run(drive(f"http://127.0.0.1:{api_port}", args.clients, args.seconds,
                                               args.seed, start_cpu_clock))
        cpu = {name: cpu_seconds(proc) - cpu_before[name] for name, proc in processes.items()}
        print(json.dumps(report(args, stats, elapsed, rss.peak, cpu), separators=(",", ":")))  # noqa: T201
    return 1 if stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
