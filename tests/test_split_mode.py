"""README's "Running the services separately", followed line by line with real processes.

The shell block of that section is read from README.md and run as written, with this test's own database,
Redis server, directory and free ports in place of the README's: ``export``s become the processes'
environment, ``honeydue migrate`` runs to the end, each ``honeydue … &`` is started in the background.
Then a client registers, uploads a photo through the gateway, finalizes it and downloads the bytes through
the link the api handed out; a job sent through Redis is run by the worker.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, create_postgres_database, drop_postgres_database, free_port
from tests.test_faults import RedisServer, wait_for_log

SECTION = "## Running the services separately"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(700)


def readme_recipe() -> list[str]:
    """The lines of the first ``sh`` block under SECTION, comments dropped."""
    text = (REPO / "README.md").read_text()
    assert SECTION in text, "README.md lost its split-mode recipe"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


@dataclass
class Recipe:
    exports: dict[str, str]
    foreground: list[list[str]]  # run to the end, in order, before anything is started
    background: list[list[str]]


def parse(lines: list[str]) -> Recipe:
    recipe = Recipe({}, [], [])
    for line in lines:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            recipe.exports[name] = value
            continue
        words = shlex.split(line.removesuffix("&").strip())
        assert words[0] == "honeydue", line
        if line.endswith("&"):
            recipe.background.append(words[1:])
        else:
            assert not recipe.background, "a foreground step after the services started"
            recipe.foreground.append(words[1:])
    return recipe


@pytest.mark.static
def test_the_recipe_names_every_step_the_issue_asks_for() -> None:
    recipe = parse(readme_recipe())
    assert set(recipe.exports) == {"DATABASE_URL", "REDIS_URL", "HONEYDUE_VAR_DIR", "PUBLIC_GATEWAY_URL"}
    assert recipe.foreground == [["migrate"]]
    assert [args[0] for args in recipe.background] == ["api", "gateway", "worker", "scheduler"]
    # The links must point at the gateway's port, not the api's.
    gateway_port = recipe.background[1][recipe.background[1].index("--port") + 1]
    assert recipe.exports["PUBLIC_GATEWAY_URL"].endswith(f":{gateway_port}")


@dataclass
class Split:
    processes: dict[str, subprocess.Popen]
    logs: dict[str, Path]
    api_url: str
    gateway_url: str
    env: dict[str, str]
    workdir: Path


@pytest.fixture
def split(tmp_path: Path) -> Iterator[Split]:
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    database_url = asyncio.run(create_postgres_database())
    recipe = parse(readme_recipe())
    api_port, gateway_port = free_port(), free_port()
    readme_ports = {args[0]: args[args.index("--port") + 1] for args in recipe.background if "--port" in args}
    ours = {readme_ports["api"]: str(api_port), readme_ports["gateway"]: str(gateway_port)}

    def local(value: str) -> str:
        value = value.replace("$PWD", str(tmp_path))
        for theirs, mine in ours.items():
            value = re.sub(rf":{theirs}\b", f":{mine}", value)
        return value

    exports = {name: local(value) for name, value in recipe.exports.items()}
    exports |= {"DATABASE_URL": database_url, "REDIS_URL": redis_server.url}  # this run's own services
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL", "MEDIA_SIGNING_KEY", "PUBLIC_GATEWAY_URL"))}
    env |= {**exports, "LOG_FORMAT": "text", "PYTHONUNBUFFERED": "1"}
    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    try:
        for args in recipe.foreground:
            done = subprocess.run([sys.executable, "-m", "honeydue.cli", *args], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        for args in recipe.background:
            args = [ours.get(word, word) for word in args]
            logs[args[0]] = tmp_path / f"{args[0]}.log"
            with logs[args[0]].open("wb") as log:
                processes[args[0]] = subprocess.Popen([sys.executable, "-m", "honeydue.cli", *args], cwd=tmp_path,
                                                      env=env, stdout=log, stderr=subprocess.STDOUT)
        split = Split(processes, logs, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{gateway_port}", env,
                      tmp_path)
        for base in (split.api_url, split.gateway_url):
            wait_ready(split, base)
        yield split
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        redis_server.stop()
        asyncio.run(drop_postgres_database(database_url))


def wait_ready(split: Split, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for name, process in split.processes.items():
            assert process.poll() is None, f"{name} exited:\n{split.logs[name].read_text(errors='replace')}"
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} never became ready")


def gql(split: Split, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(split.api_url + "/graphql", json={"query": query, "variables": variables},
                          headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
def test_readme_split_mode_uploads_and_downloads_a_file(split: Split) -> None:
    email = f"split-{uuid.uuid4().hex[:8]}@example.com"
    registered = gql(split, "mutation($i: RegisterInput!) { register(input: $i) { token userErrors { code } } }",
                     {"i": {"email": email, "password": "correct horse battery", "displayName": "Split"}})
    token = registered["register"]["token"]
    assert token

    requested = gql(split, """mutation($i: RequestUploadInput!) { requestUpload(input: $i) {
        media { id } upload { url headers { name value } } userErrors { code message } } }""",
                    {"i": {"purpose": "AVATAR", "filename": "me.png", "contentType": "image/png", "size": len(PNG)}},
                    token)["requestUpload"]
    assert requested["userErrors"] == []
    upload = requested["upload"]
    assert upload["url"].startswith(split.gateway_url + "/media/upload/"), upload  # the gateway, not the api
    put = httpx.put(upload["url"], content=PNG, headers={h["name"]: h["value"] for h in upload["headers"]},
                    timeout=30)
    assert put.status_code == 200, put.text

    finalized = gql(split, """mutation($id: ID!) { finalizeUpload(input: {mediaId: $id}) {
        media { status url } userErrors { code message } } }""", {"id": requested["media"]["id"]},
                    token)["finalizeUpload"]
    assert finalized["userErrors"] == [] and finalized["media"]["status"] == "READY", finalized
    link = finalized["media"]["url"]
    assert link.startswith(split.gateway_url + "/media/")
    download = httpx.get(link, timeout=30)
    assert download.status_code == 200
    assert download.content == PNG

    # A job sent through Redis reaches the worker.
    subprocess.run([sys.executable, "-m", "honeydue.cli", "jobs", "run", "cleanup_pending_uploads"],
                   cwd=split.workdir, env=split.env, check=True, capture_output=True, timeout=60)
    assert wait_for_log(split.logs["worker"], "pending-upload cleanup:", 1, 60), split.logs["worker"].read_text()
    assert all(process.poll() is None for process in split.processes.values())
