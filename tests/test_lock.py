"""requirements.lock against pyproject.toml, offline: not stale, every runtime dependency bounded, pinned, hashed.

The image installs the lock (Dockerfile, ``pip install --require-hashes``), not pyproject's ranges, so a change
to ``[project] dependencies`` without ``python scripts/lock_dependencies.py`` would ship the old set silently.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

pytestmark = pytest.mark.static

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def _lock_script():
    spec = importlib.util.spec_from_file_location("lock_dependencies", ROOT / "scripts" / "lock_dependencies.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runtime_requirements(pyproject_text: str) -> list[Requirement]:
    return [Requirement(spec) for spec in tomllib.loads(pyproject_text)["project"]["dependencies"]]


def pins(lock_text: str) -> dict[str, Version]:
    return {canonicalize_name(name): Version(version) for name, version in PIN.findall(lock_text)}


def test_the_lock_is_not_stale() -> None:
    script = _lock_script()
    recorded = script.recorded_digest(LOCK.read_text())
    assert recorded is not None, "requirements.lock has no pyproject-dependencies-sha256 header"
    assert recorded == script.dependency_digest(PYPROJECT.read_text()), (
        "requirements.lock is stale against pyproject.toml's dependencies: run python scripts/lock_dependencies.py")


def test_the_digest_changes_with_the_dependency_list_only() -> None:
    script = _lock_script()
    text = PYPROJECT.read_text()
    digest = script.dependency_digest(text)
    assert script.dependency_digest(text.replace('"redis>=5,<9"', '"Redis >= 5, < 9"')) == digest
    assert script.dependency_digest(text.replace('"redis>=5,<9"', '"redis>=5,<10"')) != digest
    assert script.dependency_digest(text.replace('"httpx>=0.27,<0.29",', '"httpx>=0.27,<0.29", "rich<15",')) != digest


def test_every_runtime_dependency_is_bounded_pinned_and_hashed() -> None:
    lock_text = LOCK.read_text()
    pinned = pins(lock_text)
    for requirement in runtime_requirements(PYPROJECT.read_text()):
        operators = {spec.operator for spec in requirement.specifier}
        assert operators & {"<", "<=", "==", "~="}, f"{requirement}: no upper bound"
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not pinned in requirements.lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements.lock pins {name}=={pinned[name]}, outside pyproject's {requirement.specifier}")
    # pip --require-hashes refuses an entry without a hash; catch it here rather than in an image build.
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock_text.split("\n", 3)[3])
    unhashed = [entry.split()[0] for entry in entries if PIN.match(entry) and "--hash=sha256:" not in entry]
    assert unhashed == []
    assert len(pinned) == len(entries)
