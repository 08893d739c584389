""".gitignore must never hide source: the old repo's unanchored `api` pattern silently dropped
deploy-k3s/manifests/api/ from every commit, and nobody noticed until a deploy lacked the API.

Asks git itself (`git check-ignore`), for the files that exist and for names that could appear
later in each folder (a new service folder, a `var` or `build` subfolder, a file called `api`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUARDED = ("deploy-k3s", "honeydue", "schema", "resolvers", "gateway", "workers", "migrations")
# Generated, never committed: these may (and must) be ignored.
ALLOWED_IGNORED = ("honeydue/static/graphiql/vendor/", "honeydue/static/admin/vendor/")
PROBE_NAMES = (
    "api/x.yaml", "api", "gateway/x.yaml", "worker/x.yaml", "var/x", "var", "build/x", "dist/x",
    "media/x", "static/x.js", "node_modules.yaml", "x.egg-info.md", "migrations/x.py", "x.yaml", "x.py",
)

pytestmark = [
    pytest.mark.static,
    pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs git and a checkout"),
]


def ignored(paths: list[str]) -> list[str]:
    """The subset of ``paths`` that git would ignore (exit 1 from check-ignore means none)."""
    if not paths:
        return []
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin", "-z"],
        cwd=ROOT, input="\0".join(paths) + "\0", capture_output=True, text=True,
    )
    assert result.returncode in (0, 1), result.stderr
    return [p for p in result.stdout.split("\0") if p]


def source_files() -> list[str]:
    """Every file under the guarded folders, tracked or not, minus caches and generated assets."""
    files = []
    for folder in GUARDED:
        for path in (ROOT / folder).rglob("*"):
            rel = path.relative_to(ROOT).as_posix()
            if path.is_file() and "__pycache__" not in path.parts and not rel.startswith(ALLOWED_IGNORED):
                files.append(rel)
    return files


def probe_paths() -> list[str]:
    """Plausible future paths in every guarded folder and in each of its subfolders."""
    dirs = set(GUARDED)
    for folder in GUARDED:
        dirs.update(p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*")
                    if p.is_dir() and "__pycache__" not in p.parts
                    and not (p.relative_to(ROOT).as_posix() + "/").startswith(ALLOWED_IGNORED))
    return sorted(f"{d}/{name}" for d in dirs for name in PROBE_NAMES)


def test_no_source_file_is_ignored() -> None:
    files = source_files()
    assert any(f.startswith("deploy-k3s/manifests/api/") for f in files)
    assert ignored(files) == []


def test_no_plausible_future_source_path_is_ignored() -> None:
    probes = probe_paths()
    assert "deploy-k3s/manifests/api/x.yaml" in probes and "honeydue/var/x" in probes
    assert ignored(probes) == []


def test_the_check_would_notice_an_ignored_path() -> None:
    # What must stay ignored is: proves check-ignore answers, so the two tests above can fail.
    assert ignored(["var/honeydue.sqlite3", "honeydue/static/graphiql/vendor/graphiql.min.js",
                    "honeydue/__pycache__/x.pyc", "honeydue/settings.py"]) == [
        "var/honeydue.sqlite3", "honeydue/static/graphiql/vendor/graphiql.min.js", "honeydue/__pycache__/x.pyc",
    ]


def test_every_gitignore_pattern_is_anchored_or_a_cache_name() -> None:
    """Unanchored names are how `api` hid a folder; only cache/bytecode globs may float."""
    floating_ok = {"__pycache__/", "*.pyc"}
    for line in (ROOT / ".gitignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        assert pattern.startswith("/") or pattern in floating_ok, f"unanchored .gitignore pattern: {pattern}"
