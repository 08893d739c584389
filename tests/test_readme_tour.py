"""README's "Try it" tour, run exactly as written against a real ``honeydue serve``.

Every fenced block of the section runs in order: the GraphQL as it stands (the capitalised words replaced by
the values earlier steps returned, as the reader would), the shell lines through bash in the server's
directory. A step that stopped working, or GraphQL that no longer matches the schema, fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, missing_service, start_serve, stop_serve
from tests.wall_clock import HOUR, JOBS_RUN_TIMEOUT, wait_clear_of_edge

pytestmark = pytest.mark.e2e

SECTION = "## Try it"
PLACEHOLDERS = ("RESIDENCE_ID", "TASK_ID", "MEDIA_ID", "UPLOAD_URL", "DOWNLOAD_URL", "HOUR", "SIZE")
# A 1x1 PNG: finalizeUpload checks that the bytes are the declared type.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8cf"
    "c0000003010100c9fe92ef0000000049454e44ae426082")


def tour_blocks() -> list[tuple[str, str]]:
    """(language, text) of each fenced block of the section, in order."""
    text = (REPO / "README.md").read_text()
    assert SECTION in text, "README.md lost its tour"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [(lang, textwrap.dedent(body)) for _, lang, body in
            re.findall(r"^( *)```(\w+)\n(.*?)^\1```", section, re.M | re.S)]


def fill(text: str, values: dict[str, str]) -> str:
    for name in PLACEHOLDERS:
        if re.search(rf"\b{name}\b", text):
            assert name in values, f"the tour uses {name} before a step gave it"
            text = re.sub(rf"\b{name}\b", values[name], text)
    return text


def remember(data: dict, values: dict[str, str]) -> None:
    """What a reader copies from each answer into later steps."""
    if "register" in data:
        values["TOKEN"] = data["register"]["token"]
    if "createResidence" in data:
        values["RESIDENCE_ID"] = data["createResidence"]["residence"]["id"]
    if "createTask" in data:
        values["TASK_ID"] = data["createTask"]["task"]["id"]
    if "requestUpload" in data:
        values["MEDIA_ID"] = data["requestUpload"]["media"]["id"]
        values["UPLOAD_URL"] = data["requestUpload"]["upload"]["url"]
    if "completeTask" in data:
        values["DOWNLOAD_URL"] = data["completeTask"]["completion"]["photos"][0]["url"]


def current_hour() -> str:
    """The UTC hour, clear of its end by a job's run (the reminder job must run in the same hour)."""
    return str(wait_clear_of_edge(HOUR, needed=JOBS_RUN_TIMEOUT).hour)


def test_the_readme_tour_works_against_honeydue_serve(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        missing_service("curl")
    server = start_serve(tmp_path / "serve")
    workdir = server.workdir
    (workdir / "photo.png").write_bytes(PHOTO)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL", "SMTP_"))}
    env |= {"HONEYDUE_VAR_DIR": str(workdir / "var"), "LOG_FORMAT": "text"}
    values: dict[str, str] = {"SIZE": str(len(PHOTO))}
    answers: list[dict] = []
    try:
        blocks = tour_blocks()
        assert [lang for lang, _ in blocks].count("graphql") == 8
        for lang, body in blocks:
            if "HOUR" in body:
                values["HOUR"] = current_hour()
            if lang == "graphql":
                headers = {"Authorization": f"Bearer {values['TOKEN']}"} if "TOKEN" in values else {}
                response = httpx.post(server.base_url + "/graphql", json={"query": fill(body, values)},
                                      headers=headers, timeout=30)
                assert response.status_code == 200, response.text
                answer = response.json()
                assert "errors" not in answer, (body, answer)
                for payload in answer["data"].values():
                    assert not (payload or {}).get("userErrors"), (body, answer)
                remember(answer["data"], values)
                answers.append(answer["data"])
            else:
                assert lang == "sh"
                script = fill(body, values).replace(".venv/bin/honeydue", f"{sys.executable} -m honeydue.cli")
                done = subprocess.run(["bash", "-euc", script], cwd=workdir, env=env, capture_output=True,
                                      text=True, timeout=120)
                assert done.returncode == 0, (script, done.stdout, done.stderr)
    finally:
        stop_serve(server)

    notifications = next(a["notifications"] for a in answers if "notifications" in a)
    assert [edge["node"]["title"] for edge in notifications["edges"]] == ["Water the plants is due today"]
    assert next(a for a in answers if "finalizeUpload" in a)["finalizeUpload"]["media"]["status"] == "READY"
    assert (workdir / "copy.png").read_bytes() == PHOTO
