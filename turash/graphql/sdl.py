"""Print the GraphQL schema (SDL): `python -m turash.graphql.sdl > docs/schema.graphql` (a test keeps it current)."""

from __future__ import annotations

from turash.config import Settings
from turash.graphql.endpoints import schema


def sdl() -> str:
    defaults = Settings.model_fields
    depth = defaults["graphql_max_depth"].default
    cost = defaults["graphql_max_cost"].default
    return schema(depth, cost).as_str() + "\n"


if __name__ == "__main__":
    print(sdl(), end="")
