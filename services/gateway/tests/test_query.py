"""Unknown query parameters are refused (422, each named), including on routes whose parameters
come from nested dependencies, and so is a single-valued one given twice; routes without a
dependant are left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Query

from helix_gateway.problems import install_problem_handlers
from helix_gateway.query import reject_unknown_query


def paging(limit: int = 10, cursor: str | None = None) -> dict[str, object]:
    return {"limit": limit, "cursor": cursor}


def filters(page: Annotated[dict[str, object], Depends(paging)], kind: str | None = None,
            tags: Annotated[list[str] | None, Query()] = None) -> dict[str, object]:
    return {**page, "kind": kind, **({"tags": tags} if tags else {})}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI(dependencies=[Depends(reject_unknown_query)])
    install_problem_handlers(app)

    @app.get("/audit")
    async def audit(
        production_id: Annotated[str | None, Query(alias="production-id")] = None,
        found: Annotated[dict[str, object], Depends(filters)] = None,
    ) -> dict[str, object]:  # type: ignore[assignment]
        return {"production": production_id, **found}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield http


async def test_known_parameters_of_the_route_and_its_dependencies_pass(client: httpx.AsyncClient) -> None:
    response = await client.get("/audit", params={"production-id": "p", "limit": 3, "cursor": "c", "kind": "frame"})
    assert response.status_code == 200
    assert response.json() == {"production": "p", "limit": 3, "cursor": "c", "kind": "frame"}


async def test_a_typo_is_refused_rather_than_ignored(client: httpx.AsyncClient) -> None:
    response = await client.get("/audit", params={"production": "p", "zz": "1", "limit": 3})
    assert response.status_code == 422
    problem = response.json()
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
        (["query", "production"], "extra_forbidden"),
        (["query", "zz"], "extra_forbidden"),
    ]
    assert problem["detail"] == "query.production: unknown query parameter (and 1 more)"


async def test_a_single_valued_parameter_given_twice_is_refused_and_a_list_is_not(client: httpx.AsyncClient) -> None:
    twice = await client.get("/audit?production-id=a&production-id=b&limit=3")
    assert twice.status_code == 422
    assert [(e["loc"], e["type"]) for e in twice.json()["errors"]] == [(["query", "production-id"], "too_long")]
    listed = await client.get("/audit?tags=a&tags=b")
    assert listed.status_code == 200 and listed.json()["tags"] == ["a", "b"]


async def test_paths_without_a_route_are_not_checked(client: httpx.AsyncClient) -> None:
    assert (await client.get("/nowhere", params={"x": "1"})).status_code == 404
