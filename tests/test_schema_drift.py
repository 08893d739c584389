"""The committed schema.graphql is what `honeydue export-schema` prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.static

REPO = Path(__file__).resolve().parent.parent


def test_schema_graphql_matches_export() -> None:
    exported = subprocess.run(
        [sys.executable, "-m", "honeydue.cli", "export-schema"], capture_output=True, text=True, check=True,
        cwd=REPO, timeout=60,
    ).stdout
    committed = (REPO / "schema.graphql").read_text()
    assert exported == committed, "schema.graphql is stale: run `honeydue export-schema -o schema.graphql`"
