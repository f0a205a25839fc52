"""The admin is built on its first request (`rest_service.app.admin.LazyAdmin`): until then
rest_service runs without sqladmin, and once built it is where it would have been mounted."""

from __future__ import annotations

import httpx
from starlette.routing import Mount

from rest_service.app.admin import ADMIN_BASE, LazyAdmin
from rest_service.app.main import create_app


async def test_the_first_admin_request_builds_the_admin_in_the_place_kept_for_it(
    settings_env: dict[str, str],
) -> None:
    app = create_app()

    def mounted() -> list[Mount]:
        return [r for r in app.routes if isinstance(r, Mount) and r.path == ADMIN_BASE]

    (kept,) = mounted()
    lazy = app.state.admin
    assert isinstance(kept.app, LazyAdmin) and lazy is kept.app
    place = app.routes.index(kept)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rest") as http,
    ):
        first, second = await http.get("/admin/login"), await http.get("/admin/login")
    assert first.status_code == second.status_code == 200
    assert first.text == second.text and 'name="password"' in first.text
    (built,) = mounted()
    assert built.app is app.state.admin.admin and app.routes.index(built) == place
    assert app.url_path_for("admin:login") == "/admin/login"
    assert app.state.admin.session_maker is lazy.session_maker  # what the lifespan bound


def test_the_admin_is_the_first_route_so_its_links_pass_no_api_route(
    settings_env: dict[str, str],
) -> None:
    """Each `url_for("admin:…")` of a page walks the routes in order; behind the API's it
    passed (and failed on) every one of them, which was most of an admin page's time
    (bench/bench_rest.py measures a page)."""
    first = create_app().routes[0]
    assert isinstance(first, Mount) and first.path == ADMIN_BASE
