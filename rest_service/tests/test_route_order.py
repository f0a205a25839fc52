"""Which route answers a path: the first router in `ROUTERS` with a route for it. A router
placed earlier for speed must shadow no route of a later one, and the routes every message
takes are matched first (each router passed over costs its routes' matching, about 15 µs,
on every request)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from starlette.convertors import IntegerConvertor, PathConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Match

from rest_service.app.api import live_config, threads, users
from rest_service.app.main import ROUTERS, app


def _api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI's included router
        if inner is not None:
            yield from _api_routes(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def _path_of(route: APIRoute) -> str:
    """A concrete path for the route's template, each parameter a value of its type."""
    path = route.path_format
    for name, convertor in route.param_convertors.items():
        if isinstance(convertor, UUIDConvertor):
            value = str(uuid.UUID(int=7))
        elif isinstance(convertor, IntegerConvertor):
            value = "7"
        elif isinstance(convertor, PathConvertor):
            value = "a/b"
        else:
            value = "x"
        path = path.replace("{" + name + "}", value)
    return path


def _answering(method: str, path: str) -> tuple[int, object] | None:
    """The index of the app's top-level route that matches, and the endpoint that answers."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "app": app}
    for index, route in enumerate(app.router.routes):
        match, child = route.matches(scope)
        if match is not Match.FULL:
            continue
        node: object = route
        while hasattr(node, "_match"):  # down the included routers, as FastAPI dispatches
            _, _, node, _ = node._match(scope)
        return index, getattr(node, "endpoint", child.get("endpoint"))
    return None


def test_every_route_answers_its_own_paths() -> None:
    assert len({id(router) for router in ROUTERS}) == len(ROUTERS)
    routes = list(_api_routes(app.router.routes))
    assert len(routes) > 100
    shadowed = [
        (method, _path_of(route), answered)
        for route in routes
        for method in sorted(route.methods or ())
        if (answered := _answering(method, _path_of(route))) is None
        or answered[1] is not route.endpoint
    ]
    assert shadowed == []


@pytest.mark.parametrize(
    ("method", "path", "router"),
    [
        ("POST", "/api/threads/context", threads.router),
        ("POST", f"/api/threads/{uuid.UUID(int=7)}/messages", threads.router),
        ("GET", "/api/users/by-telegram/7", users.router),
        ("GET", "/api/config/version", live_config.router),
    ],
)
def test_the_routes_of_every_message_are_matched_first(
    method: str, path: str, router: object
) -> None:
    assert ROUTERS.index(router) < 3  # type: ignore[arg-type]
    answered = _answering(method, path)
    assert answered is not None
    first_router = next(
        i for i, route in enumerate(app.router.routes) if hasattr(route, "original_router")
    )
    assert answered[0] < first_router + 3
