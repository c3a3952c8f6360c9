"""Query cost limit: a nested GraphQL query can ask for a page of flows, each with its matches, each with its
business case; that multiplies. The cost is estimated before anything runs, from the query alone.

Cost of a field = its weight (1, more for fields that compute: matches, business cases) times how many times it
will run: the product of the page sizes (`limit`, `top`) of the fields above it. A variable page size counts at
its largest allowed value, a missing one at the schema default. This follows the "static query cost analysis" of
Hartig & Pérez (2018) and GitHub's GraphQL resource limits, in a simple form: the estimate is an upper bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

# Fields that run the matching engine or the economics model cost more than reading a row.
FIELD_WEIGHTS: Mapping[str, int] = {"matches": 10, "businessCase": 25}
# Page-size arguments and their largest allowed values (the REST routes' limits).
PAGE_ARGUMENTS: Mapping[str, int] = {"limit": 1000, "top": 100}
# A list field without a page-size argument (a user's organisations, say) is assumed to hold this many.
UNBOUNDED_LIST = 10


def query_cost(operation: OperationDefinitionNode, root: GraphQLObjectType, fragments: Mapping[str, Any]) -> int:
    variables = {
        v.variable.name.value: v.default_value.value
        for v in operation.variable_definitions or ()
        if isinstance(v.default_value, IntValueNode)
    }

    def size(field: FieldNode, definition: Any, parent: Any) -> int:
        for name, largest in PAGE_ARGUMENTS.items():
            if name not in definition.args:
                continue
            node = next((a.value for a in field.arguments or () if a.name.value == name), None)
            if node is None:
                default = definition.args[name].default_value
                return int(default) if isinstance(default, int) else largest
            if isinstance(node, IntValueNode):
                return max(int(node.value), 0)
            if isinstance(node, VariableNode):
                return min(int(variables.get(node.name.value, largest)), largest)
            return largest
        if is_list_type(get_nullable_type(definition.type)) and not parent.name.endswith("Page"):
            return UNBOUNDED_LIST
        return 1  # one object, or a Page's items (counted by the page's own `limit`)

    def cost(selection_set: SelectionSetNode | None, parent: Any, times: int, seen: frozenset[str]) -> int:
        if selection_set is None or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                definition = parent.fields.get(name)
                if definition is None or name.startswith("__"):
                    continue  # introspection is free; unknown fields are reported by the standard rules
                total += times * FIELD_WEIGHTS.get(name, 1)
                inner = get_named_type(definition.type)
                total += cost(selection.selection_set, inner, times * size(selection, definition, parent), seen)
            elif isinstance(selection, InlineFragmentNode):
                total += cost(selection.selection_set, parent, times, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in seen:  # a fragment cycle is the standard rules' to report
                    total += cost(fragment.selection_set, parent, times, seen | {name})
        return total

    return cost(operation.selection_set, root, 1, frozenset())


def cost_limit(maximum: int) -> type[ValidationRule]:
    """A validation rule rejecting an operation whose estimated cost is above `maximum`."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            if root is None:
                return
            definitions = self.context.document.definitions
            fragments = {f.name.value: f for f in definitions if isinstance(f, FragmentDefinitionNode)}
            estimate = query_cost(node, root, fragments)
            if estimate > maximum:
                self.report_error(
                    GraphQLError(
                        f"query too costly: estimated cost {estimate} is above the limit of {maximum}; ask for "
                        "smaller pages (`limit`, `top`) or fewer nested matches and business cases",
                        node,
                        extensions={"code": "query_too_costly", "cost": estimate, "limit": maximum},
                    )
                )

    return CostLimit
