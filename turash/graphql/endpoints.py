"""`POST /api/v1/graphql`: GraphQL over the same services and rules as REST.

The route is a plain synchronous FastAPI route: it authenticates like every other route (401 without
credentials), counts against the caller's rate limit, and runs the query in one worker thread on the request's
unit of work, so resolvers never share a database session across threads. A mutation request is all or nothing:
if any of its fields fails, the whole request is rolled back.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import pydantic
import strawberry
import structlog
from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, PlainTextResponse
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from pydantic import BaseModel, ConfigDict, Field
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from turash.auth.dependencies import PrincipalDep, RuntimeDep, UowDep
from turash.graphql.limits import cost_limit
from turash.graphql.rest import GraphContext
from turash.graphql.schema import Mutation, Query
from turash.kit.errors import TurashError

router = APIRouter(tags=["graphql"])
log = structlog.get_logger(__name__)

MAX_ALIASES = 30


class GraphQLRequest(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "query": '{ flows(direction: "supply", limit: 5) { total items { id resource matches(top: 3) '
                    "{ score demand { organization } economics { npvEur } } } } }"
                }
            ]
        },
    )

    query: str = Field(min_length=1, max_length=100_000, description="The GraphQL document.")
    variables: dict[str, Any] | None = None
    operation_name: str | None = Field(None, alias="operationName", max_length=200)


class TurashSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Expected errors (not found, forbidden, bad argument) are answers, not incidents: only crashes are logged.
        for error in errors:
            if error.original_error is not None and not isinstance(error.original_error, TurashError):
                log.error("graphql.resolver_crashed", path=error.path, exc_info=error.original_error)


_DATETIME = pydantic.TypeAdapter(datetime)
# Times as REST writes them (pydantic: `...Z` for UTC), so both interfaces give the same strings.
DateTime = strawberry.scalar(
    name="DateTime",
    description="An ISO 8601 date and time, as the REST API writes it.",
    serialize=lambda value: _DATETIME.dump_python(value, mode="json"),
    parse_value=lambda value: _DATETIME.validate_python(value),
)


@cache
def schema(max_depth: int, max_cost: int) -> strawberry.Schema:
    return TurashSchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(scalar_map={datetime: DateTime}),
        extensions=[
            lambda: QueryDepthLimiter(max_depth=max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: AddValidationRules([cost_limit(max_cost)]),
        ],
    )


def _error(error: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = error.path
    original = error.original_error
    if isinstance(original, TurashError):
        out["extensions"] = {**original.to_dict(), "status": original.status_code}
        out["message"] = original.message
    elif original is not None:  # a bug: say so without the internals (they are in the log)
        out["message"] = "internal error: the server failed to resolve this field; it has been logged"
        out["extensions"] = {"code": "internal_error", "status": 500}
    else:
        out["extensions"] = {"code": "graphql_validation", **(error.extensions or {})}  # ours name their code
    return out


def _is_mutation(query: str, operation_name: str | None) -> bool:
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [d for d in operations if operation_name is None or (d.name and d.name.value == operation_name)]
    return bool(chosen) and chosen[0].operation == OperationType.MUTATION


@router.post("/graphql", operation_id="graphql")
def graphql(body: GraphQLRequest, uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep) -> JSONResponse:
    """Run a GraphQL query or mutation (schema: `GET /api/v1/graphql/schema.graphql`). Errors are in `errors`, each
    with `extensions.code` and `extensions.status` as REST would have answered; a document that does not parse or
    validate (unknown field, too deep, too costly) is `400` with no data."""
    settings = runtime.settings
    mutation = _is_mutation(body.query, body.operation_name)
    context = GraphContext(uow=uow, principal=principal, runtime=runtime)
    result = schema(settings.graphql_max_depth, settings.graphql_max_cost).execute_sync(
        body.query, variable_values=body.variables, context_value=context, operation_name=body.operation_name
    )
    errors = [_error(e) for e in result.errors or ()]
    if result.data is None and errors:
        uow.rollback()
        if all(e.original_error is None for e in result.errors or ()):
            return JSONResponse({"errors": errors}, status_code=400)  # nothing ran: the document is at fault
        return JSONResponse({"data": None, "errors": errors})
    if mutation and errors:
        uow.rollback()  # all or nothing: nothing of a failed mutation request is kept
        return JSONResponse({"data": None, "errors": errors})
    payload: dict[str, Any] = {"data": jsonable_encoder(result.data)}
    if errors:
        payload["errors"] = errors
    return JSONResponse(payload)


@router.get("/graphql/schema.graphql", response_class=PlainTextResponse, operation_id="graphql_schema")
def graphql_schema(runtime: RuntimeDep, principal: PrincipalDep) -> str:
    """The GraphQL schema in SDL, with every type's and field's description."""
    settings = runtime.settings
    return schema(settings.graphql_max_depth, settings.graphql_max_cost).as_str()
