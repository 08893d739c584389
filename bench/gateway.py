"""Benchmark: the media gateway against a plain nginx reverse proxy to the same S3-style origin.

    python bench/gateway.py            # 100 MB object, the figures of the issue
    python bench/gateway.py --quick    # small parameters for CI (a few seconds)

It starts, in a temporary directory:

* an *origin*: nginx serving files at S3 path-style URLs (``/<bucket>/<key>``,
  Range and ETag for free), so the store is never the bottleneck;
* the *gateway*: ``honeydue gateway`` (uvicorn) with the S3 backend pointed at
  that origin (nginx ignores the SigV4 headers) and a SQLite database holding
  the READY media row;
* a *proxy*: nginx as a plain reverse proxy to the same origin.

Load comes from ``curl --parallel`` (C, so the client does not compete with
the gateway for the interpreter), streaming the whole object and many 1 MB
ranges at concurrency 1 and 32 through both. It prints ONE JSON line:
gateway/nginx throughput ratios, TTFB p50/p99 for each, the gateway's peak RSS
and how many signed links are created and verified per second in-process.
Needs the Debian ``nginx`` package (installed with apt-get when missing).
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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small parameters, for CI")
    parser.add_argument("--object-mb", type=int, default=100, help="size of the streamed object")
    parser.add_argument("--full-runs", type=int, default=4, help="whole-object downloads per concurrency level")
    parser.add_argument("--ranges", type=int, default=256, help="1 MB range requests per concurrency level")
    parser.add_argument("--range-kb", type=int, default=1024)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--links", type=int, default=100_000, help="links signed and verified in-process")
    args = parser.parse_args()
    if args.quick:
        args.object_mb, args.full_runs, args.ranges, args.links = 8, 2, 64, 20_000
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


def prepare_object(root: Path, size: int) -> tuple[int, str]:
    path = root / BUCKET / KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5(usedforsecurity=False)
    block = os.urandom(MB)
    with path.open("wb") as out:
        for _ in range(size // MB):
            out.write(block)
            digest.update(block)
    return size, digest.hexdigest()


def gateway_env(tmp: Path, origin_port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL"))},
        "PYTHONPATH": str(REPO),
        "HONEYDUE_VAR_DIR": str(tmp / "var"),
        "DATABASE_URL": f"sqlite://{tmp / 'var' / 'bench.sqlite3'}",
        "B2_ENDPOINT": f"http://127.0.0.1:{origin_port}",
        "B2_BUCKET_NAME": BUCKET,
        "B2_REGION": "us-west-004",
        "B2_KEY_ID": "bench",
        "B2_APP_KEY": "bench-secret",
        "B2_USE_SSL": "false",
        "MEDIA_SIGNING_KEY": SIGNING_KEY,
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
    }


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
    """Samples a process's RSS in a thread; ``peak`` in bytes."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self.baseline = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except Exception:  # the process ended
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


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


def main() -> None:
    args = parse_args()
    nginx = ensure_nginx()
    size = args.object_mb * MB
    range_bytes = args.range_kb * 1024
    rng = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="honeydue-bench-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # nginx workers run as an unprivileged user and must read the origin files
        size, etag = prepare_object(tmp / "origin-root", size)
        origin_port, proxy_port, gateway_port = free_port(), free_port(), free_port()
        procs: list[subprocess.Popen] = []
        stack.callback(lambda: [p.terminate() for p in procs])
        procs.append(start_nginx(nginx, tmp / "origin", ORIGIN_SERVER.format(port=origin_port,
                                                                             root=tmp / "origin-root")))
        procs.append(start_nginx(nginx, tmp / "proxy", PROXY_SERVER.format(port=proxy_port, origin=origin_port)))
        env = gateway_env(tmp, origin_port)
        create_media_row(env, size, etag)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "honeydue.cli", "gateway", "--host", "127.0.0.1", "--port", str(gateway_port)],
            env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=open(tmp / "gateway.log", "wb"),  # noqa: SIM115
        )
        procs.append(gateway)
        wait_http(f"http://127.0.0.1:{origin_port}/", procs[0])
        wait_http(f"http://127.0.0.1:{proxy_port}/", procs[1])
        wait_http(f"http://127.0.0.1:{gateway_port}/healthz", gateway)

        from honeydue.signing import sign_media_url

        targets = {
            "gateway": sign_media_url([SIGNING_KEY.encode()], f"http://127.0.0.1:{gateway_port}", KEY, 3600),
            "nginx": f"http://127.0.0.1:{proxy_port}/{BUCKET}/{KEY}",
        }
        workloads: dict[str, list[tuple[str | None]]] = {}
        for concurrency in args.concurrency:
            runs = max(args.full_runs, concurrency) if concurrency > 1 else args.full_runs
            workloads[f"full_c{concurrency}"] = [(None,)] * runs
            ranges = []
            for _ in range(max(args.ranges, concurrency * 2)):
                first = rng.randrange(0, size - range_bytes)
                ranges.append((f"{first}-{first + range_bytes - 1}",))
            workloads[f"range_c{concurrency}"] = ranges

        # Warm both paths (connection pools, page cache) before measuring.
        try:
            for url in targets.values():
                run_curl([(url, None), (url, "0-1023")], 2, tmp)
        except RuntimeError:
            for log in ("gateway.log", "origin/error.log", "proxy/error.log"):
                print(f"--- {log}\n" + (tmp / log).read_text(errors="replace")[-3000:], file=sys.stderr)
            raise

        results: dict[str, dict[str, dict]] = {"gateway": {}, "nginx": {}}
        with PeakRss(gateway.pid) as rss:
            for name, items in workloads.items():
                concurrency = int(name.rsplit("_c", 1)[1])
                for target, url in targets.items():
                    results[target][name] = run_curl([(url, r[0]) for r in items], concurrency, tmp)
        if gateway.poll() is not None:
            raise RuntimeError((tmp / "gateway.log").read_text())

        report: dict[str, object] = {
            "params": {"object_mb": args.object_mb, "full_runs": args.full_runs, "ranges": args.ranges,
                       "range_kb": args.range_kb, "concurrency": args.concurrency, "cpus": os.cpu_count()},
            "throughput_ratio": {},
            "throughput_mb_s": {"gateway": {}, "nginx": {}},
            "ttfb_ms": {"gateway": {}, "nginx": {}},
            "ttfb_overhead_p50_ms": {},
        }
        for name in workloads:
            for target in ("gateway", "nginx"):
                run = results[target][name]
                report["throughput_mb_s"][target][name] = round(run["bytes"] / run["seconds"] / MB, 1)
                report["ttfb_ms"][target][name] = {"p50": round(statistics.median(run["ttfb"]), 2),
                                                   "p99": round(percentile(run["ttfb"], 0.99), 2)}
            gw, ng = results["gateway"][name], results["nginx"][name]
            report["throughput_ratio"][name] = round((gw["bytes"] / gw["seconds"]) / (ng["bytes"] / ng["seconds"]), 3)
            report["ttfb_overhead_p50_ms"][name] = round(
                report["ttfb_ms"]["gateway"][name]["p50"] - report["ttfb_ms"]["nginx"][name]["p50"], 2)
        report["gateway_rss_mb"] = {"before": round(rss.baseline / MB, 1), "peak": round(rss.peak / MB, 1)}
        report["links"] = link_rate(args.links)
        print(json.dumps(report, separators=(",", ":")))


if __name__ == "__main__":
    main()
