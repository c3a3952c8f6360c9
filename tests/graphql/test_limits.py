"""The static cost estimate of a GraphQL query: page sizes multiply, computing fields weigh more."""

from __future__ import annotations

import pytest
from graphql import OperationDefinitionNode, parse

from turash.graphql.endpoints import schema
from turash.graphql.limits import query_cost


def cost(query: str) -> int:
    document = parse(query)
    graphql_schema = schema(10, 25000)._schema
    fragments = {d.name.value: d for d in document.definitions if hasattr(d, "type_condition")}
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    root = graphql_schema.get_root_type(operation.operation)
    assert root is not None
    return query_cost(operation, root, fragments)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # flows 1 + items 10 + (id + resource) x 10
        ("{ flows(limit: 10) { items { id resource } } }", 31),
        # ... + matches 10 x weight 10 + score x 10 x 3
        ("{ flows(limit: 10) { items { id matches(top: 3) { score } } } }", 1 + 10 + 10 + 100 + 30),
        # no limit: the schema default (50)
        ("{ flows { items { id } } }", 101),
        # a variable with a default counts at that default
        ("query($n: Int = 4) { flows(limit: $n) { items { id } } }", 9),
        # a variable without one counts at the largest allowed page (1000)
        ("query($n: Int!) { flows(limit: $n) { items { id } } }", 2001),
        # fragments count where they are spread
        ("fragment F on Flow { id resource } { flows(limit: 2) { items { ...F } } }", 7),
        # a business case weighs 25, per match
        ('{ match(id: "x") { businessCase } }', 26),
        # docs/graphql.md's example: 50 flows, their 5 best matches, each match's business case
        ("{ flows { items { matches { businessCase } } } }", 1 + 50 + 50 * 10 + 250 * 25),
        # introspection is free
        ("{ __schema { types { name fields { name } } } }", 0),
    ],
)
def test_query_cost(query: str, expected: int) -> None:
    assert cost(query) == expected


def test_nested_pages_multiply() -> None:
    flat = cost("{ organizations(limit: 5) { items { sites(limit: 5) { items { id } } } } }")
    deeper = cost(
        "{ organizations(limit: 5) { items { sites(limit: 5) { items { flows(limit: 5) { items { id } } } } } } }"
    )
    assert flat == 1 + 5 + 5 + 25 + 25
    assert deeper == 1 + 5 + 5 + 25 + 25 + 125 + 125  # flows and their items run 25 and 125 times


def test_docs_schema_graphql_is_the_generated_schema() -> None:
    from pathlib import Path

    from turash.graphql.sdl import sdl

    committed = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"
    assert committed.read_text() == sdl(), "run: python -m turash.graphql.sdl > docs/schema.graphql"
