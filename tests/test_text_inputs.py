"""Control characters in text inputs: refused with INVALID_INPUT before any resolver runs, never INTERNAL.

On PostgreSQL a NUL in ``register.displayName``, ``createTask.title``, ``completeTask.notes`` or
``login.email`` used to be an INTERNAL error. The sweep below reads the schema by introspection and sends a
NUL to every String and ID inside every argument of every root field, one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from honeydue import models
from tests.plugins.domain import World, make_world

BAD = "bad\u0000text"

INTROSPECTION = """{ __schema {
  queryType { fields { name args { name type { ...T } } type { ...T } } }
  mutationType { fields { name args { name type { ...T } } type { ...T } } }
  types { name kind inputFields { name type { ...T } } enumValues { name } fields { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"""

PLAIN_VALUES: dict[str, Any] = {"String": "text", "ID": "00000000-0000-0000-0000-000000000000", "Int": 1,
                                "Float": 1.0, "Boolean": False, "Date": "2024-01-02",
                                "DateTime": "2024-01-02T03:04:05+00:00"}


@dataclass(frozen=True)
class Case:
    root: str  # "query" or "mutation"
    field: str
    path: tuple[str, ...]  # argument name, then input field names down to the text


def type_text(ref: dict) -> str:
    if ref["kind"] == "NON_NULL":
        return type_text(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{type_text(ref['ofType'])}]"
    return ref["name"]


def named(ref: dict) -> dict:
    while ref["kind"] in ("NON_NULL", "LIST"):
        ref = ref["ofType"]
    return ref


class Schema:
    def __init__(self, data: dict) -> None:
        self.types = {t["name"]: t for t in data["__schema"]["types"]}
        self.roots = {"query": data["__schema"]["queryType"]["fields"],
                      "mutation": data["__schema"]["mutationType"]["fields"]}

    def text_paths(self, ref: dict, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        """Every path from ``ref`` to a String or ID leaf (input objects followed, lists seen through)."""
        leaf = named(ref)
        if leaf["kind"] == "SCALAR":
            return [path] if leaf["name"] in ("String", "ID") else []
        if leaf["kind"] != "INPUT_OBJECT":
            return []
        paths: list[tuple[str, ...]] = []
        for field in self.types[leaf["name"]]["inputFields"]:
            paths += self.text_paths(field["type"], (*path, field["name"]))
        return paths

    def value(self, ref: dict, bad_path: tuple[str, ...] | None) -> Any:
        """A value of type ``ref`` that coerces; the String/ID at ``bad_path`` (relative) holds a NUL."""
        if ref["kind"] == "NON_NULL":
            return self.value(ref["ofType"], bad_path)
        if ref["kind"] == "LIST":
            return [self.value(ref["ofType"], bad_path)]
        if bad_path == ():
            return BAD
        if ref["kind"] == "SCALAR":
            return PLAIN_VALUES[ref["name"]]
        described = self.types[ref["name"]]
        if ref["kind"] == "ENUM":
            return described["enumValues"][0]["name"]
        value = {}
        for field in described["inputFields"]:
            on_path = bad_path is not None and bad_path[0] == field["name"]
            if on_path or field["type"]["kind"] == "NON_NULL":
                value[field["name"]] = self.value(field["type"], bad_path[1:] if on_path else None)
        return value

    def cases(self) -> list[Case]:
        return [Case(root, field["name"], path)
                for root, fields in self.roots.items() for field in fields for arg in field["args"]
                for path in self.text_paths(arg["type"], (arg["name"],))]

    def operation(self, case: Case) -> tuple[str, dict]:
        field = next(f for f in self.roots[case.root] if f["name"] == case.field)
        result = named(field["type"])
        if result["kind"] == "SCALAR":
            selection = ""
        elif any(f["name"] == "userErrors" for f in self.types[result["name"]]["fields"] or []):
            selection = "{ __typename userErrors { field code } }"
        else:
            selection = "{ __typename }"
        variables = {}
        for arg in field["args"]:
            on_path = arg["name"] == case.path[0]
            if on_path or arg["type"]["kind"] == "NON_NULL":
                variables[arg["name"]] = self.value(arg["type"], case.path[1:] if on_path else None)
        declared = ", ".join(f"${a['name']}: {type_text(a['type'])}" for a in field["args"] if a["name"] in variables)
        passed = ", ".join(f"{name}: ${name}" for name in variables)
        head = f"{case.root}({declared})" if declared else case.root
        call = f"{case.field}({passed})" if passed else case.field
        return f"{head} {{ {call} {selection} }}", variables


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def test_every_text_argument_refuses_nul(api, world) -> None:
    introspected = await api.execute(INTROSPECTION, token=world.owner.token)
    schema = Schema(introspected["data"])
    cases = schema.cases()
    fields = {(c.root, c.field) for c in cases}
    # The inputs the issue names are among them (the sweep really reaches the schema's mutations).
    assert {c.path for c in cases if c.field == "register"} >= {("input", "displayName"), ("input", "email")}
    assert ("input", "notes") in {c.path for c in cases if c.field == "completeTask"}
    assert ("mutation", "createTask") in fields and ("query", "residence") in fields and len(cases) > 40

    answers = []
    for case in cases:
        query, variables = schema.operation(case)
        result = await api.execute(query, variables, token=world.owner.token)
        codes = [e["extensions"]["code"] for e in result.get("errors") or []]
        payload = (result.get("data") or {}).get(case.field)
        user_errors = (payload or {}).get("userErrors") if isinstance(payload, dict) else None
        answers.append((case, codes, user_errors))

    internal = [(case, codes) for case, codes, _ in answers if "INTERNAL" in codes]
    assert internal == []
    for case, codes, user_errors in answers:
        if case.root == "mutation" and user_errors is not None:
            # The payload names the offending input field, as other input mistakes do.
            assert (codes, user_errors) == ([], [{"field": list(case.path), "code": "INVALID_INPUT"}]), case
        else:
            assert codes == ["INVALID_INPUT"], (case, codes)


async def test_nul_is_refused_on_the_paths_that_broke(api, world) -> None:
    register = await api.execute(
        "mutation($input: RegisterInput!) { register(input: $input) { token userErrors { field code } } }",
        {"input": {"email": "new@example.com", "password": "a long enough password", "displayName": BAD}},
    )
    assert register["data"]["register"] == {"token": None,
                                            "userErrors": [{"field": ["input", "displayName"],
                                                            "code": "INVALID_INPUT"}]}
    assert not await models.User.exists(email="new@example.com")
    login = await api.execute("mutation($input: LoginInput!) { login(input: $input) { token userErrors { code } } }",
                              {"input": {"email": f"{BAD}@example.com", "password": "x"}})
    assert login["data"]["login"] == {"token": None, "userErrors": [{"code": "INVALID_INPUT"}]}
    query = await api.execute("query($id: ID!) { residence(id: $id) { id } }", {"id": BAD}, token=world.owner.token)
    assert query["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    # Written inline rather than as a variable: the same answer.
    inline = await api.execute('{ residence(id: "a\\u0007b") { id } }', token=world.owner.token)
    assert inline["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_tab_cr_and_lf_are_ordinary_text(api, world) -> None:
    title = "line one\r\nline two\tand a tab"
    result = await api.execute(
        "mutation($input: CreateTaskInput!) { createTask(input: $input) { task { title } userErrors { code } } }",
        {"input": {"residenceId": world.rid, "title": title}}, token=world.owner.token,
    )
    assert result["data"]["createTask"] == {"task": {"title": title}, "userErrors": []}
    for refused in ("\u007f", "\u0085", "\u001b[31m"):
        result = await api.execute(
            "mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } userErrors { code } } }",
            {"input": {"residenceId": world.rid, "title": f"x{refused}"}}, token=world.owner.token,
        )
        assert result["data"]["createTask"] == {"task": None, "userErrors": [{"code": "INVALID_INPUT"}]}
