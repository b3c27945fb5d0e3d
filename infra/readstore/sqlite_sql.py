"""SQL for the SQLite read store's filters, order and keyset pages.

Field names are checked identifiers (common.check_field) before they reach a JSON
path here; values always travel as parameters.
"""

from __future__ import annotations

from typing import Any

from infra.readstore.common import Bound, keyset_branches, where_items


def expr(field: str) -> str:
    # Fields are checked identifiers (common.check_field), safe inside the JSON path.
    return "id" if field == "_id" else f"json_extract(doc, '$.{field}')"


def where_sql(where: dict[str, Any] | None) -> tuple[list[str], list[Any]]:
    clauses, params = ["doc IS NOT NULL"], []  # tombstones are never returned
    for field, value in where_items(where):
        if isinstance(value, list):
            present = [v for v in value if v is not None]
            marks = ", ".join("?" * len(present))
            clause = f"{expr(field)} IN ({marks})"
            if len(present) < len(value):  # IN never matches NULL; MongoDB's $in does
                clause = f"({clause} OR {expr(field)} IS NULL)"
            clauses.append(clause)
            params.extend(present)
        elif value is None:
            clauses.append(f"{expr(field)} IS NULL")
        else:
            clauses.append(f"{expr(field)} = ?")
            params.append(value)
    return clauses, params


def keyset_sql(order: list[tuple[str, int]], last: list[Any]) -> tuple[str, list[Any]]:
    branches, params = [], []
    for branch in keyset_branches(order, last):
        parts = []
        for bound in branch:
            sql, bound_params = _bound_sql(bound)
            parts.append(sql)
            params.extend(bound_params)
        branches.append("(" + " AND ".join(parts) + ")")
    return "(" + (" OR ".join(branches) or "0") + ")", params


def _bound_sql(bound: Bound) -> tuple[str, list[Any]]:
    column = expr(bound.field)
    if bound.op == "eq":
        return (
            (f"{column} IS NULL", []) if bound.value is None else (f"{column} = ?", [bound.value])
        )
    if bound.value is None:  # ascending: every non-null value comes after null
        return f"{column} IS NOT NULL", []
    if bound.direction == 1:
        return f"{column} > ?", [bound.value]
    return f"({column} < ? OR {column} IS NULL)", [bound.value]
