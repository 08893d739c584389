"""Benchmark: the media gateway against a plain nginx reverse proxy to the same S3-style origin.

    python bench/gateway.py                      # 100 MB object, 7 interleaved rounds (3-7 minutes)
    python bench/gateway.py --servers granian    # only the server the gateway uses (faster)
    python bench/gateway.py --backend local      # the local backend against nginx serving the same file
    python bench/gateway.py --quick              # small parameters for CI (well under a minute)

It starts, in a temporary directory:

* an *origin*: nginx serving files at S3 path-style URLs (``/<bucket>/<key>``,
  Range and ETag for free), so the store is never the bottleneck;
* the *gateway*: ``honeydue gateway`` (one process per ``--servers`` entry, chosen with
  ``GATEWAY_SERVER``) with the S3 backend pointed at that origin (nginx ignores the SigV4
  headers) and a SQLite database holding the READY media row;
* a *proxy*: nginx as a plain reverse proxy to the same origin, single worker.

With ``--backend local`` the gateway reads the file from its media directory and the
baseline is the origin itself (nginx's static module, sendfile).

Load comes from ``curl --parallel`` (C, so the client does not compete with the gateway
for the interpreter): the whole object and many 1 MB ranges at concurrency 1 and 32.

The machine is shared and noisy, so figures are never taken from one run. Each round runs
every workload once against every target, back to back, in an order that rotates from round
to round (gateway, nginx, then nginx, gateway...), so a burst of noise hits both sides of a
ratio alike. A ratio is computed per round (gateway/nginx in that round) and reported as the
median of the rounds with its spread (lowest, highest). The run stops adding rounds when the
time budget would be exceeded (never below 3 rounds), so a run with no arguments finishes in
well under 10 minutes.

It prints ONE JSON line (its last stdout line); progress goes to stderr. Keys:
``throughput_ratio.{range_c1,range_c32,full_c1,full_c32}.{median,spread}`` for the
first ``--servers`` entry, ``ttfb_overhead_p50_ms`` (gateway p50 TTFB minus nginx's, per round,
``{median, spread}``), ``targets`` (the issue's goals and whether the medians meet them),
``servers.<name>`` (the same ratios and overheads for each server when several run),
``server_comparison.<other>`` (the first server against each other gateway, head to head: per-round
throughput ratio first/other and the rounds it led), ``--checkout before=PATH`` adds another checkout's
gateway (under the first server) as one more interleaved target,
``throughput_mb_s``, ``ttfb_ms`` and ``cpu_ms_per_request`` (medians over rounds; CPU time of the
gateway or of the answering nginx, per request), ``gateway_rss_mb`` and ``links``
(signed links created and verified per second in-process). Needs the Debian ``nginx``
package (installed with apt-get when missing).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BUCKET = "honeyDueBench"
KEY = "residences/00000000-0000-0000-0000-000000000001/documents/bench.pdf"
SIGNING_KEY = "bench-signing-key-" + "b" * 32
MB = 1024 * 1024


SERVERS = ("granian", "uvicorn")  # the first is GATEWAY_SERVER's default
WORKLOADS = ("range_c1", "range_c32", "full_c1", "full_c32")
# The goals (throughput ratios at least, extra TTFB at most), checked against the medians.
RATIO_TARGETS = {"range_c1": 0.8, "range_c32": 0.9, "full_c1": 0.95, "full_c32": 0.95}
TTFB_TARGET_MS = 2.0
MIN_ROUNDS = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small parameters, for CI")
    parser.add_argument("--object-mb", type=int, default=100, help="size of the streamed object")
    parser.add_argument("--full-runs", type=int, default=4, help="whole-object downloads per round at c=1")
    parser.add_argument("--ranges", type=int, default=256, help="1 MB range requests per round and concurrency")
    parser.add_argument("--range-kb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=7, help=f"interleaved rounds (at least {MIN_ROUNDS})")
    parser.add_argument("--budget-seconds", type=float, default=420,
                        help="start no round past this (the first 3 always run)")
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS),
                        help="process servers for the gateway, each its own process; the first one is the "
                             "one `throughput_ratio` reports (default: granian, the gateway's, then uvicorn)")
    parser.add_argument("--backend", choices=("s3", "local"), default="s3")
    parser.add_argument("--checkout", metavar="NAME=PATH", action="append", default=[],
                        help="also run the gateway of another checkout (say, the commit before a change) under "
                             "the first server, interleaved like the others; reported as servers.NAME")
    parser.add_argument("--links", type=int, default=100_000, help="links signed and verified in-process")
    args = parser.parse_args()
    if args.quick:
        args.object_mb, args.full_runs, args.ranges, args.links, args.rounds = 8, 2, 32, 20_000, MIN_ROUNDS
    args.rounds = max(args.rounds, MIN_ROUNDS)
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=True, env=env)
    return shutil.which("nginx") or "/usr/sbin/nginx"


NGINX_COMMON = """
daemon off;
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  {server}
}}
"""

ORIGIN_SERVER = """
  server {{
    listen 127.0.0.1:{port};
    root {root};
    default_type application/pdf;
  }}
"""

PROXY_SERVER = """
  upstream origin {{ server 127.0.0.1:{origin}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Stream through memory buffers like the gateway does: by default nginx spools a response larger than
      # its buffers to a temporary file, which made whole-object downloads slower than through the gateway.
      proxy_max_temp_file_size 0;
    }}
  }}
"""


def start_nginx(nginx: str, prefix: Path, server_block: str) -> subprocess.Popen:
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_COMMON.format(prefix=prefix, server=server_block))
    return subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf)], stderr=subprocess.DEVNULL)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before answering {url}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def prepare_object(path: Path, size: int) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5(usedforsecurity=False)
    block = os.urandom(MB)
    with path.open("wb") as out:
        for _ in range(size // MB):
            out.write(block)
            digest.update(block)
    return size, digest.hexdigest()


def write_local_sidecar(path: Path, etag: str) -> None:
    """The metadata file the local backend writes on upload; without it every read would hash the file."""
    from honeydue.storage.local import META_SUFFIX

    st = path.stat()
    meta = {"etag": etag, "content_type": "application/pdf", "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    path.with_name(path.name + META_SUFFIX).write_text(json.dumps(meta))


def gateway_env(tmp: Path, origin_port: int, backend: str, server: str) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL"))},
        "PYTHONPATH": str(REPO),
        "HONEYDUE_VAR_DIR": str(tmp / "var"),
        "DATABASE_URL": f"sqlite://{tmp / 'var' / 'bench.sqlite3'}",
        "MEDIA_SIGNING_KEY": SIGNING_KEY,
        "GATEWAY_SERVER": server,
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
    }
    if backend == "s3":
        env |= {
            "B2_ENDPOINT": f"http://127.0.0.1:{origin_port}",
            "B2_BUCKET_NAME": BUCKET,
            "B2_REGION": "us-west-004",
            "B2_KEY_ID": "bench",
            "B2_APP_KEY": "bench-secret",
            "B2_USE_SSL": "false",
        }
    return env


def create_media_row(env: dict[str, str], size: int, etag: str) -> None:
    from honeydue import db
    from honeydue.models import Media
    from honeydue.models.enums import MediaPurpose, MediaStatus
    from honeydue.settings import load_settings

    settings = load_settings(env)

    async def run() -> None:
        await db.migrate(settings)
        await db.init_db(settings)
        try:
            await Media.create(key=KEY, purpose=MediaPurpose.DOCUMENT_FILE, filename="bench.pdf",
                               content_type="application/pdf", size=size, status=MediaStatus.READY,
                               etag=etag, finalized_at=datetime.now(UTC))
        finally:
            await db.close_db()

    asyncio.run(run())


class PeakRss:
    """Samples the RSS of processes and their children in a thread; ``peak`` in bytes (the largest sum)."""

    def __init__(self, pids: list[int]) -> None:
        import psutil

        self.processes = [psutil.Process(pid) for pid in pids]
        self.baseline = self._sample()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for process in self.processes:
            try:
                family = [process, *process.children(recursive=True)]
                total += sum(p.memory_info().rss for p in family)
            except Exception:  # a process ended
                pass
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._sample())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process and its children (nginx's workers), in seconds."""
    import psutil

    try:
        process = psutil.Process(pid)
        return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])
    except Exception:  # ended
        return 0.0


def run_curl(requests: list[tuple[str, str | None]], concurrency: int, workdir: Path) -> dict[str, float]:
    """Run ``requests`` (url, range) with curl at ``concurrency``; bytes, seconds and TTFB list."""
    config = workdir / f"curl-{concurrency}-{len(requests)}.cfg"
    lines = []
    for index, (url, byte_range) in enumerate(requests):
        if index:
            lines.append("next")
        lines.append(f'url = "{url}"')
        lines.append('output = "/dev/null"')
        if byte_range:
            lines.append(f'range = "{byte_range}"')
        lines.append('write-out = "%{http_code} %{size_download} %{time_starttransfer}\\n"')
    config.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--parallel", "--parallel-max", str(concurrency),
         "--parallel-immediate", "--config", str(config)],
        capture_output=True, text=True, check=True,
    )
    elapsed = time.perf_counter() - started
    total, ttfbs = 0, []
    for line in result.stdout.split("\n"):
        if not line.strip():
            continue
        code, size, ttfb = line.split()
        if code not in ("200", "206"):
            raise RuntimeError(f"unexpected HTTP {code} from {requests[0][0]}")
        total += int(size)
        ttfbs.append(float(ttfb) * 1000)
    if len(ttfbs) != len(requests):
        raise RuntimeError(f"{len(ttfbs)} of {len(requests)} transfers reported: {result.stderr}")
    return {"bytes": total, "seconds": elapsed, "ttfb": ttfbs}  # type: ignore[dict-item]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def link_rate(count: int) -> dict[str, int]:
    from honeydue.signing import sign_media_url, verify_media_signature

    keys = [SIGNING_KEY.encode(), b"previous-" + b"p" * 32]
    now = time.time()
    started = time.perf_counter()
    urls = [sign_media_url(keys, "https://gw.example", KEY, 900, now=now) for _ in range(count)]
    signed = count / (time.perf_counter() - started)
    parts = [url.rsplit("?", 1)[1].split("&") for url in urls]
    started = time.perf_counter()
    for exp, sig in parts:
        if not verify_media_signature(keys, KEY, exp[4:], sig[4:], now):
            raise RuntimeError("a fresh link did not verify")
    verified = count / (time.perf_counter() - started)
    return {"signed_per_s": round(signed), "verified_per_s": round(verified),
            "sign_and_verify_per_s": round(1 / (1 / signed + 1 / verified))}


def summary(values: list[float], digits: int = 3) -> dict[str, object]:
    """Median and spread (lowest, highest) of per-round figures."""
    return {"median": round(statistics.median(values), digits),
            "spread": [round(min(values), digits), round(max(values), digits)]}


def make_workloads(args: argparse.Namespace, size: int) -> dict[str, list[str | None]]:
    """Each workload's list of ranges (None: the whole object); the same list every round and target."""
    rng = random.Random(4)
    range_bytes = args.range_kb * 1024
    workloads: dict[str, list[str | None]] = {}
    for name in WORKLOADS:
        kind, concurrency = name.split("_c")
        if kind == "full":
            # At c=32 one whole object per connection, so every connection streams for the whole round.
            workloads[name] = [None] * (args.full_runs if concurrency == "1" else max(args.full_runs, 32))
        else:
            items: list[str | None] = []
            for _ in range(max(args.ranges, int(concurrency) * 2)):
                first = rng.randrange(0, size - range_bytes)
                items.append(f"{first}-{first + range_bytes - 1}")
            workloads[name] = items
    return workloads


def start_gateway(tmp: Path, env: dict[str, str], port: int, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "honeydue.cli", "gateway", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=open(tmp / f"{name}.log", "wb"),  # noqa: SIM115
    )


def main() -> None:
    args = parse_args()
    nginx = ensure_nginx()
    started_at = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="honeydue-bench-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # nginx workers run as an unprivileged user and must read the origin files
        if args.backend == "s3":
            origin_root, object_path = tmp / "origin-root", f"{BUCKET}/{KEY}"
        else:  # the gateway's own media directory, served by nginx too
            origin_root, object_path = tmp / "var" / "media", KEY
            (tmp / "var").mkdir()
            (tmp / "var").chmod(0o755)
        size, etag = prepare_object(origin_root / object_path, args.object_mb * MB)
        if args.backend == "local":
            write_local_sidecar(origin_root / object_path, etag)
        origin_port, proxy_port = free_port(), free_port()
        procs: list[subprocess.Popen] = []
        stack.callback(lambda: [p.terminate() for p in procs])
        procs.append(start_nginx(nginx, tmp / "origin", ORIGIN_SERVER.format(port=origin_port, root=origin_root)))
        procs.append(start_nginx(nginx, tmp / "proxy", PROXY_SERVER.format(port=proxy_port, origin=origin_port)))
        gateways: dict[str, tuple[int, subprocess.Popen]] = {}
        for number, server in enumerate(args.servers):
            env = gateway_env(tmp, origin_port, args.backend, server)
            if number == 0:
                create_media_row(env, size, etag)
            port = free_port()
            gateways[server] = (port, start_gateway(tmp, env, port, server))
            procs.append(gateways[server][1])
        for spec in args.checkout:  # the same server, another version of the code
            name, _, path = spec.partition("=")
            env = gateway_env(tmp, origin_port, args.backend, args.servers[0]) | {"PYTHONPATH": path}
            port = free_port()
            gateways[name] = (port, start_gateway(tmp, env, port, name))
            procs.append(gateways[name][1])
        wait_http(f"http://127.0.0.1:{origin_port}/", procs[0])
        wait_http(f"http://127.0.0.1:{proxy_port}/", procs[1])
        for port, proc in gateways.values():
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)

        from honeydue.signing import sign_media_url

        # nginx as a reverse proxy for the S3 backend; for the local one, nginx serving the file itself.
        baseline_port = proxy_port if args.backend == "s3" else origin_port
        targets = {"nginx": f"http://127.0.0.1:{baseline_port}/{object_path}"}
        for server, (port, _proc) in gateways.items():
            targets[server] = sign_media_url([SIGNING_KEY.encode()], f"http://127.0.0.1:{port}", KEY, 3600)
        workloads = make_workloads(args, size)

        def dump_logs() -> None:
            for log in (*(f"{s}.log" for s in gateways), "origin/error.log", "proxy/error.log"):
                if (tmp / log).exists():
                    print(f"--- {log}\n" + (tmp / log).read_text(errors="replace")[-3000:], file=sys.stderr)

        # Warm every path (connection pools, page cache) before measuring.
        try:
            for url in targets.values():
                run_curl([(url, None), (url, "0-1023")], 2, tmp)
        except RuntimeError:
            dump_logs()
            raise

        # The process whose CPU time each target costs: the gateway, or the nginx that answers.
        target_pids = {"nginx": procs[1 if args.backend == "s3" else 0].pid,
                       **{server: proc.pid for server, (_port, proc) in gateways.items()}}
        # results[target][workload] = one run_curl result per round
        results: dict[str, dict[str, list[dict]]] = {t: {w: [] for w in workloads} for t in targets}
        names = list(targets)
        rounds_done, round_seconds = 0, 0.0
        with PeakRss([proc.pid for _port, proc in gateways.values()]) as rss:
            for round_index in range(args.rounds):
                elapsed = time.monotonic() - started_at
                if rounds_done >= MIN_ROUNDS and elapsed + round_seconds > args.budget_seconds:
                    print(f"time budget: stopping after {rounds_done} rounds", file=sys.stderr)
                    break
                round_started = time.monotonic()
                for offset, (name, items) in enumerate(workloads.items()):
                    concurrency = int(name.rsplit("_c", 1)[1])
                    # Rotate who goes first, by round and by workload, so no target always runs after another.
                    shift = (round_index + offset) % len(names)
                    for target in names[shift:] + names[:shift]:
                        try:
                            cpu_before = cpu_seconds(target_pids[target])
                            run = run_curl([(targets[target], r) for r in items], concurrency, tmp)
                            run["cpu_ms"] = (cpu_seconds(target_pids[target]) - cpu_before) * 1000 / len(items)
                        except (RuntimeError, subprocess.CalledProcessError):
                            dump_logs()
                            raise
                        results[target][name].append(run)
                rounds_done += 1
                round_seconds = time.monotonic() - round_started
                print(f"round {rounds_done}: {round_seconds:.1f}s", file=sys.stderr)
        for server, (_port, proc) in gateways.items():
            if proc.poll() is not None:
                raise RuntimeError((tmp / f"{server}.log").read_text())

        def rate(run: dict) -> float:
            return run["bytes"] / run["seconds"]

        def ratios(server: str) -> dict[str, dict[str, object]]:
            return {name: summary([rate(g) / rate(n) for g, n in zip(results[server][name], results["nginx"][name],
                                                                     strict=True)])
                    for name in workloads}

        def overheads(server: str) -> dict[str, dict[str, object]]:
            return {name: summary([statistics.median(g["ttfb"]) - statistics.median(n["ttfb"])
                                   for g, n in zip(results[server][name], results["nginx"][name], strict=True)], 2)
                    for name in workloads}

        first = args.servers[0]
        report: dict[str, object] = {
            "params": {"object_mb": args.object_mb, "full_runs": args.full_runs, "ranges": args.ranges,
                       "range_kb": args.range_kb, "rounds": rounds_done, "backend": args.backend,
                       "servers": args.servers, "cpus": os.cpu_count(),
                       "seconds": round(time.monotonic() - started_at, 1)},
            "server": first,
            "throughput_ratio": ratios(first),
            "ttfb_overhead_p50_ms": overheads(first),
        }
        report["targets"] = {
            **{name: {"at_least": goal, "met": report["throughput_ratio"][name]["median"] >= goal}
               for name, goal in RATIO_TARGETS.items()},
            "ttfb_overhead_p50_ms_c1": {"at_most": TTFB_TARGET_MS,
                                        "met": report["ttfb_overhead_p50_ms"]["range_c1"]["median"] <= TTFB_TARGET_MS},
        }
        if len(gateways) > 1:
            report["servers"] = {s: {"throughput_ratio": ratios(s), "ttfb_overhead_p50_ms": overheads(s)}
                                 for s in gateways}
            # Head to head with the first, round by round: first/other throughput, and in how many rounds first led.
            report["server_comparison"] = {
                other: {name: {**summary([rate(a) / rate(b) for a, b in zip(results[first][name],
                                                                            results[other][name], strict=True)]),
                               "rounds_led": sum(rate(a) > rate(b) for a, b in zip(results[first][name],
                                                                                   results[other][name],
                                                                                   strict=True))}
                        for name in workloads}
                for other in list(gateways)[1:]}
        report["throughput_mb_s"] = {t: {name: round(statistics.median(rate(r) for r in runs) / MB, 1)
                                         for name, runs in per.items()} for t, per in results.items()}
        report["ttfb_ms"] = {
            t: {name: {"p50": round(statistics.median(statistics.median(r["ttfb"]) for r in runs), 2),
                       "p99": round(statistics.median(percentile(r["ttfb"], 0.99) for r in runs), 2)}
                for name, runs in per.items()}
            for t, per in results.items()}
        # CPU time per request is far less sensitive to the machine's load than throughput: the per-request
        # work itself, gateway against nginx.
        report["cpu_ms_per_request"] = {t: {name: round(statistics.median(r["cpu_ms"] for r in runs), 3)
                                            for name, runs in per.items()} for t, per in results.items()}
        report["gateway_rss_mb"] = {"before": round(rss.baseline / MB, 1), "peak": round(rss.peak / MB, 1)}
        report["links"] = link_rate(args.links)
        print(json.dumps(report, separators=(",", ":")))


if __name__ == "__main__":
    main()
