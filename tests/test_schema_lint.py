"""The schema documents itself: graphql-schema-linter's description and Relay rules pass on the exported schema.

GraphiQL's docs pane shows these descriptions, so every type, field, argument, input field and enum value
needs one (what it is, its unit and limits, the errors it gives), and connections must follow the Relay
specs (``PageInfo`` complete, ``first``/``after`` on every connection field). A new field without a
description fails here; the message lists what to describe.

The linter is the real npm package, pinned in scripts/schema-lint/package-lock.json and installed there by
``scripts/schema-lint/lint`` with ``npm ci`` on first use; after that it runs offline. Skipped when node or
npm is missing, except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from graphql import GraphQLObjectType, build_schema

from schema import schema

pytestmark = pytest.mark.static

REPO = Path(__file__).resolve().parent.parent
LINT = REPO / "scripts" / "schema-lint" / "lint"
RULES = json.loads((LINT.parent / ".graphql-schema-linterrc").read_text())["rules"]
# Past this, npm ci (first run) or node is stuck; an upper bound, not a speed expectation.
LINT_LIMIT_S = 300

# Breaks every configured rule once: no descriptions anywhere, a lower-case one, a connection without edges or
# paging arguments, and a PageInfo without hasPreviousPage/startCursor.
UNDOCUMENTED_SDL = '''
type Query {
  "lower-case start."
  things(filter: Filter): ThingConnection
}

type ThingConnection {
  nodes: [Kind]
}

type PageInfo {
  hasNextPage: Boolean!
  endCursor: String
}

input Filter {
  kind: Kind
}

enum Kind {
  A
}
'''


def _require_linter_tools() -> None:
    """Skip locally, fail in CI: a CI run must not pass this test by skipping it."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not missing:
        return
    what = f"{' and '.join(missing)} not installed (Debian: apt-get install -y nodejs npm)"
    if os.environ.get("CI"):
        pytest.fail(f"{what} (required in CI)")
    pytest.skip(what)


def lint(sdl: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    _require_linter_tools()
    path = tmp_path / "schema.graphql"
    path.write_text(sdl)
    result = subprocess.run([str(LINT), str(path)], capture_output=True, text=True, timeout=LINT_LIMIT_S, cwd=REPO)
    assert result.returncode in (0, 1), f"the linter did not run:\n{result.stdout}{result.stderr}"
    return result


def test_exported_schema_is_fully_documented(tmp_path: Path) -> None:
    result = lint(schema.as_str() + "\n", tmp_path)
    problems = result.stdout.strip()
    assert result.returncode == 0 and not problems, (
        "Describe every new type, field, argument, input field and enum value (what it is, its unit and limits, "
        "the errors it gives); enum values in their described_enum(...) call in schema/enums.py:\n" + problems
    )


def test_every_rule_catches_what_it_is_for(tmp_path: Path) -> None:
    """The linter really applies each configured rule: an undocumented schema breaks every one of them."""
    result = lint(UNDOCUMENTED_SDL, tmp_path)
    assert result.returncode == 1
    broken = set(re.findall(r"\(([a-z-]+)\)$", result.stdout, re.MULTILINE))
    assert broken == set(RULES), result.stdout
    assert "`hasPreviousPage` field" in result.stdout


def test_page_info_has_every_relay_field() -> None:
    """Relay's PageInfo, cursors included: the linter's relay-page-info-spec checks only the two booleans."""
    page_info = build_schema(schema.as_str()).type_map["PageInfo"]
    assert isinstance(page_info, GraphQLObjectType)
    assert {name: str(field.type) for name, field in page_info.fields.items()} == {
        "hasNextPage": "Boolean!", "hasPreviousPage": "Boolean!", "startCursor": "String", "endCursor": "String",
    }
