"""GraphQL resolvers run the REST routes' own functions, so both interfaces apply the same rules.

Each resolver calls the function behind the matching REST route (`turash.flows.endpoints.list_flows`, ...), with
the access check its route declares as a dependency (`flow_access("viewer")`, `match_reader`, ...). Arguments are
validated by pydantic against the same annotations FastAPI reads (`Query(ge=1, le=1000)`, `Literal[...]`), so a
bad argument fails in GraphQL exactly where it fails in REST, and visibility, staged disclosure, API-key scoping and
caching cannot drift apart.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import pydantic

from turash.auth.service import Principal
from turash.kit.db import UnitOfWork
from turash.kit.errors import ValidationFailed
from turash.kit.runtime import Runtime

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)


@dataclass
class GraphContext:
    """What every resolver may use: the request's unit of work, the caller, the runtime."""

    uow: UnitOfWork
    principal: Principal
    runtime: Runtime


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@cache
def _arguments_model(fn: Callable[..., Any], names: frozenset[str]) -> type[pydantic.BaseModel]:
    """A pydantic model of `fn`'s parameters `names`, with their annotations (FastAPI's `Query(...)` constraints
    included) and defaults."""
    hints = typing.get_type_hints(fn, include_extras=True)
    signature = inspect.signature(fn)
    fields: dict[str, Any] = {}
    for name in names:
        default = signature.parameters[name].default
        fields[name] = (hints[name], ... if default is inspect.Parameter.empty else default)
    # By name: a route may rename a parameter in the URL (`state` is `?status=`); GraphQL uses its own names.
    config = pydantic.ConfigDict(validate_by_name=True, validate_by_alias=False, arbitrary_types_allowed=True)
    return pydantic.create_model(f"{fn.__name__}_arguments", __config__=config, **fields)


def call(fn: Callable[..., T], /, deps: dict[str, Any] | None = None, **params: Any) -> T:
    """`fn(**deps, **params)`, with `params` checked as FastAPI checks a route's query parameters; an argument out
    of range is a `ValidationFailed` naming the GraphQL argument (camelCase), never a traceback. `deps` (the
    access checks, unit of work, caller) are passed as they are."""
    checked = build(_arguments_model(fn, frozenset(params)), **params)
    return fn(**(deps or {}), **{name: getattr(checked, name) for name in params})


def build(model: type[M], /, **values: Any) -> M:
    """`model(**values)`, with a validation error turned into a `ValidationFailed` that names each GraphQL
    argument (camelCase) and what is wrong with it."""
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as exc:
        problems = [
            {"argument": camel(str(err["loc"][0])) if err["loc"] else None, "message": err["msg"]}
            for err in exc.errors(include_url=False)
        ]
        text = "; ".join(f"{p['argument']}: {p['message']}" if p["argument"] else str(p["message"]) for p in problems)
        raise ValidationFailed(f"invalid argument: {text}", details=problems) from None
