"""Unknown query parameters are an error, not silently ignored: `/audit?production=x` (a
typo for production_id) must not answer with the whole audit log. Nor is a single-valued
parameter given twice (`?production_id=a&production_id=b`): which one was meant is not ours
to guess."""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError


def _many(annotation: Any) -> bool:
    """Whether a parameter's type takes several values (a list), through `Annotated` and `| None`."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _many(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return any(_many(a) for a in get_args(annotation))
    return origin in (list, tuple, set, frozenset)


def _query_names(dependant: Dependant) -> dict[str, bool]:
    """Each query parameter's name, and whether it takes several values."""
    names: dict[str, bool] = {}
    pending = [dependant]
    while pending:
        current = pending.pop()
        names.update((param.alias, _many(param.field_info.annotation)) for param in current.query_params)
        pending.extend(current.dependencies)
    return names


async def reject_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    # A walk over a handful of dependencies per request: cheaper than any safe cache.
    known = _query_names(dependant)
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        raise RequestValidationError(
            [{"loc": ("query", name), "msg": "unknown query parameter", "type": "extra_forbidden", "input": request.query_params.get(name)} for name in unknown]
        )
    twice = sorted(name for name, many in known.items() if not many and len(request.query_params.getlist(name)) > 1)
    if twice:
        raise RequestValidationError(
            [{"loc": ("query", name), "msg": "given more than once; it takes one value", "type": "too_long",
              "input": request.query_params.getlist(name)} for name in twice]
        )
