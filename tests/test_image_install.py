"""The image's install steps, run without Docker: a clean venv, the build context, the locked dependencies
(`pip install --require-hashes --no-deps -r requirements.lock`), then `pip install --no-deps .`.

Why: an image can only be built where Docker runs, but what breaks an image is usually here (a
file .dockerignore drops, a package or data file setuptools leaves out, an entry point that does
not import). This does what the Dockerfile's build stage does, in the same order and with the
same pip commands (read from the Dockerfile), then runs the installed `honeydue` from outside the
source tree so nothing can be imported from the checkout by accident.

It downloads from PyPI on a cold pip cache (tens of seconds); the cache makes repeats fast.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
# Fetched at build time (the Dockerfile's node stage), never in the build context.
VENDORS = (Path("honeydue/static/graphiql/vendor"), Path("honeydue/static/admin/vendor"))
TOP_LEVEL_PACKAGES = ("honeydue", "schema", "resolvers", "gateway", "workers", "migrations")


def build_stage_pip_commands() -> list[list[str]]:
    """The `RUN pip install …` lines of the Dockerfile's build stage, in order, as argv."""
    text = (ROOT / "Dockerfile").read_text()
    stage = text.split("AS build", 1)[1].split("\nFROM ", 1)[0]
    return [m.group(1).split() for m in re.finditer(r"^RUN\s+(pip install[^\n\\]*)$", stage, re.M)]


def copy_build_context(dest: Path) -> None:
    """Copy what `docker build` would send (Docker's .dockerignore rules, via docker-py)."""
    patterns = (ROOT / ".dockerignore").read_text().splitlines()
    for rel in exclude_paths(str(ROOT), patterns):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def test_pip_install_of_the_build_context_gives_a_working_honeydue(tmp_path: Path) -> None:
    pip_commands = build_stage_pip_commands()
    assert pip_commands == [["pip", "install", "--require-hashes", "--no-deps", "-r", "requirements.lock"],
                            ["pip", "install", "--no-deps", "."]]

    src = tmp_path / "src"
    copy_build_context(src)
    for vendor in VENDORS:
        assert not (src / vendor).exists()  # .dockerignore keeps local assets out; the build fetches them
        # Stand-in for `COPY --from=graphiql …/vendor`: a file the package data must carry.
        (src / vendor).mkdir(parents=True)
        (src / vendor / "marker.min.js").write_text("/* fetched by the scripts/fetch-*-assets scripts */\n")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)  # the test runner's path must not leak the checkout into the venv
    for pip_command in pip_commands:
        subprocess.run([str(python), "-m", *pip_command, "--quiet"], cwd=src, env=env, check=True, timeout=600)
    # What the lock pins is what got installed, and nothing else is needed: pip finds no missing dependency.
    subprocess.run([str(python), "-m", "pip", "check"], cwd=src, env=env, check=True, timeout=120)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = subprocess.run([str(env_dir / "bin" / "honeydue"), "--help"], cwd=outside, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("api", "gateway", "migrate", "serve"):
        assert re.search(rf"\b{command}\b", result.stdout), f"`honeydue --help` lists no {command}"

    probe = ("import importlib, pathlib, sys\n"
             f"mods = [importlib.import_module(n) for n in {TOP_LEVEL_PACKAGES!r}]\n"
             "print(pathlib.Path(mods[0].__file__).parent)\n"
             "assert all('site-packages' in m.__file__ for m in mods if m.__file__), mods\n")
    result = subprocess.run([str(python), "-c", probe], cwd=outside, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    installed = Path(result.stdout.strip())

    # Package data: the GraphiQL page's own files and the fetched vendor files, and the email templates and
    # pages, are in the install.
    for vendor in VENDORS:
        assert (installed / vendor.relative_to("honeydue") / "marker.min.js").is_file()
    data_dirs = [ROOT / "honeydue" / d for d in ("static", "mail/templates", "mail/pages")]
    own_static = {p.relative_to(ROOT / "honeydue").as_posix() for d in data_dirs for p in d.rglob("*")
                  if p.is_file() and not any(p.is_relative_to(ROOT / vendor) for vendor in VENDORS)}
    assert any(rel.startswith("mail/templates/") and rel.endswith(".html") for rel in own_static)
    missing = sorted(rel for rel in own_static if not (installed / rel).is_file())
    assert missing == [], f"not installed: {missing}"

    assert sys.version_info[:2] == tuple(int(x) for x in re.search(
        r"FROM python:(\d+)\.(\d+)", (ROOT / "Dockerfile").read_text()).groups()), \
        "this test's Python differs from the image's; the install it proves is not the image's"
