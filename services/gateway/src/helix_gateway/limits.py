"""A limit on request bodies, enforced before anything reads them.

A declared `Content-Length` over the limit is refused at once (413, a problem document),
without reading the body; a chunked body is counted as it streams and refused the moment
it passes the limit. Either way the gateway never holds more than the limit in memory.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from helix_gateway.problems import problem_response


class BodySizeLimit:
    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    @property
    def detail(self) -> str:
        return f"request bodies are limited to {self.max_bytes:,} bytes"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = problem_response(Request(scope, receive), 413, detail=self.detail, headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # An HTTPException, so that body parsers re-raise it (FastAPI turns any other
                    # error while reading into a 400) and the app's problem handler answers 413.
                    raise HTTPException(413, detail=self.detail, headers={"Connection": "close"})
            return message

        await self.app(scope, counted, send)


class AllowedMethods:
    """A 405 names every method the path answers to (`Allow`, RFC 9110), not only those of the
    first route that matched its path: GET and POST on /productions are two routes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, _with_allow(scope, send) if scope["type"] == "http" else send)


def _with_allow(scope: dict[str, Any], send: Any) -> Any:
    async def send_with_allow(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
            message = {**message, "headers": [*headers, (b"allow", ", ".join(_methods_for(scope)).encode())]}
        await send(message)

    return send_with_allow


def _methods_for(scope: dict[str, Any]) -> list[str]:
    from helix_gateway.routes import api_routes

    methods: set[str] = set()
    for route in api_routes(scope["app"]):
        if route.path_regex.match(scope["path"]):
            methods |= route.methods or set()
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
