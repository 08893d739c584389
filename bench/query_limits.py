"""Query limits: how long abusive requests take, as a ratio to a trivial query in the same run.

    python bench/query_limits.py              # 15 rounds
    python bench/query_limits.py --rounds 2 --ids 100   # CI smoke run

It starts ``honeydue serve`` (embedded: SQLite, local media) in a temporary directory, registers a user
with a residence and a task, then times, in interleaved rounds (so machine noise hits all three alike):

* ``trivial``         ``{ __typename }``, authenticated;
* ``fragment_fan_out`` the issue's document: 20 fragments on ``User``, each spreading the next one twice
  (~1 KB, 2^20 fields expanded), with a new operation name each round so no cache helps;
* ``id_list``         ``completeTask`` with 10,000 distinct unknown ``photoIds`` (~400 KB).

It prints ONE JSON line: per probe the median and the spread (min, max) in ms, the ratio of its median to
the trivial median, and the answer's error code (``fragment_fan_out`` must be ``QUERY_TOO_COMPLEX``).
Both ratios should be single digits.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
FAN_OUT_LEVELS = 20
ID_COUNT = 10_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--ids", type=int, default=ID_COUNT, help=f"ids in the list (default {ID_COUNT})")
    return parser.parse_args(argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(workdir: Path) -> Iterator[str]:
    """``honeydue serve`` on a free port, healthy before it is used and terminated after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"HONEYDUE_VAR_DIR": str(workdir / "var"), "LOG_FORMAT": "text", "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(REPO)})
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen([sys.executable, "-m", "honeydue.cli", "serve", "--host", "127.0.0.1",
                                  "--port", str(port)], env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if popen.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"honeydue serve did not start:\n{log_path.read_text()}")
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            yield base
        finally:
            popen.terminate()
            try:
                popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


def gql(http: httpx.Client, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    return response.json()


def setup(http: httpx.Client) -> tuple[str, str]:
    """A user's token and one of their tasks."""
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    token = gql(http, "mutation($i: RegisterInput!) { register(input: $i) { token } }",
                {"i": {"email": email, "password": PASSWORD, "displayName": "Bench"}})["data"]["register"]["token"]
    residence = gql(http, 'mutation { createResidence(input: {name: "Home"}) { residence { id } } }',
                    token=token)["data"]["createResidence"]["residence"]["id"]
    task = gql(http, "mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id } } }",
               {"i": {"residenceId": residence, "title": "Gutters"}}, token=token)["data"]["createTask"]["task"]["id"]
    return token, task


def fan_out(name: str) -> str:
    fragments = " ".join(f"fragment F{i} on User{{a:email ...F{i + 1} b:email ...F{i + 1}}}"
                         for i in range(FAN_OUT_LEVELS))
    return f"query {name}{{me{{...F0}}}} {fragments} fragment F{FAN_OUT_LEVELS} on User{{id}}"


def outcome(answer: dict) -> str:
    """The first error code, or the first userErrors code, or ``ok``."""
    if answer.get("errors"):
        return answer["errors"][0].get("extensions", {}).get("code", "?")
    for value in (answer.get("data") or {}).values():
        if isinstance(value, dict) and value.get("userErrors"):
            return value["userErrors"][0]["code"]
    return "ok"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    photo_ids = [str(uuid.uuid4()) for _ in range(args.ids)]
    with tempfile.TemporaryDirectory(prefix="honeydue-bench-") as tmp, serve(Path(tmp)) as base, \
            httpx.Client(base_url=base, timeout=120) as http:
        token, task = setup(http)
        probes: dict[str, Callable[[int], dict]] = {
            "trivial": lambda _: gql(http, "{ __typename }", token=token),
            "fragment_fan_out": lambda round_: gql(http, fan_out(f"Q{round_}"), token=token),
            "id_list": lambda _: gql(
                http, "mutation($i: CompleteTaskInput!) { completeTask(input: $i) { task { id } "
                      "userErrors { code } } }", {"i": {"taskId": task, "photoIds": photo_ids}}, token=token),
        }
        for probe in probes.values():  # warm-up: connections, caches of the trivial query
            probe(-1)
        times: dict[str, list[float]] = {name: [] for name in probes}
        outcomes: dict[str, str] = {}
        for round_ in range(args.rounds):
            for name, probe in probes.items():
                started = time.perf_counter()
                answer = probe(round_)
                times[name].append((time.perf_counter() - started) * 1000)
                outcomes[name] = outcome(answer)
    trivial = statistics.median(times["trivial"])
    figures = {
        name: {"median_ms": round(statistics.median(values), 2),
               "spread_ms": [round(min(values), 2), round(max(values), 2)],
               "ratio": round(statistics.median(values) / trivial, 2),
               "answer": outcomes[name]}
        for name, values in times.items()
    }
    print(json.dumps({"rounds": args.rounds, "ids": args.ids, **figures}))
    return 0 if outcomes["fragment_fan_out"] == "QUERY_TOO_COMPLEX" else 1


if __name__ == "__main__":
    sys.exit(main())
