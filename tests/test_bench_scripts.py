"""The benchmark scripts run once with tiny parameters: one JSON line, the documented keys, zero errors.

Their figures are not asserted (speed is not a test); that they run, and run clean, is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import missing_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent


def run_script(*args: str, timeout: float = 240) -> dict:
    completed = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert len(lines) == 1, completed.stdout
    return json.loads(lines[0])


def test_load_script(redis_url: str) -> None:
    del redis_url  # only to skip (locally) or fail (CI) when Redis is down; the script uses DB 14
    figures = run_script("bench/load.py", "--clients", "2", "--seconds", "3")
    assert set(figures) >= {"clients", "seconds", "requests", "requests_per_second", "operations", "errors",
                            "peak_rss_mb"}
    assert figures["errors"] == 0, figures["error_samples"]
    assert set(figures["operations"]) == {"upcomingTasks", "completeTask", "upload", "download_range"}
    for op in figures["operations"].values():
        assert op["count"] > 0 and 0 < op["p50_ms"] <= op["p99_ms"]
    assert figures["requests"] >= sum(op["count"] for op in figures["operations"].values())
    assert set(figures["peak_rss_mb"]) == {"api", "gateway", "worker"}
    assert all(mb > 10 for mb in figures["peak_rss_mb"].values())


def test_gateway_bench_quick() -> None:
    if not (REPO / "bench" / "gateway.py").exists():
        pytest.skip("bench/gateway.py is not in this checkout")
    import shutil

    if shutil.which("nginx") is None and shutil.which("apt-get") is None:
        missing_service("nginx (bench/gateway.py needs it)")
    figures = run_script("bench/gateway.py", "--quick", timeout=300)
    assert set(figures) >= {"params", "throughput_ratio", "ttfb_overhead_p50_ms", "targets", "throughput_mb_s",
                            "ttfb_ms", "gateway_rss_mb", "links"}
    assert figures["params"]["rounds"] >= 3  # interleaved rounds: a ratio is never one run's
    assert set(figures["throughput_ratio"]) == {"range_c1", "range_c32", "full_c1", "full_c32"}
    for ratio in figures["throughput_ratio"].values():
        low, high = ratio["spread"]
        assert 0 < low <= ratio["median"] <= high
    overhead = figures["ttfb_overhead_p50_ms"]["range_c1"]
    assert overhead["spread"][0] <= overhead["median"] <= overhead["spread"][1]
    assert figures.get("errors", 0) == 0, figures


def test_query_limits_probe() -> None:
    figures = run_script("bench/query_limits.py", "--rounds", "2", "--ids", "100")
    assert set(figures) == {"rounds", "ids", "trivial", "fragment_fan_out", "id_list"}
    assert figures["fragment_fan_out"]["answer"] == "QUERY_TOO_COMPLEX"
    assert figures["trivial"]["answer"] == "ok" and figures["id_list"]["answer"] != "INTERNAL"
    for probe in ("trivial", "fragment_fan_out", "id_list"):
        low, high = figures[probe]["spread_ms"]
        assert 0 < low <= figures[probe]["median_ms"] <= high and figures[probe]["ratio"] > 0


def test_variants_bench_quick() -> None:
    figures = run_script("bench/variants.py", "--quick", timeout=300)
    assert set(figures) >= {"params", "ms_per_image", "pyvips"}
    assert figures["params"]["rounds"] >= 3  # interleaved rounds: a ratio is never one run's
    for per_library in figures["ms_per_image"].values():
        for timing in per_library.values():
            low, high = timing["spread"]
            assert 0 < low <= timing["median"] <= high
    if figures["pyvips"]["available"]:
        assert figures["ratio_vips_to_pillow"], figures["pyvips"]
    else:
        assert figures["pyvips"]["reason"]
