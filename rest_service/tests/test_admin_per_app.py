"""The web admin belongs to its app: a second app in the same process (another database, a
test's) must not take over the first one's admin. sqladmin binds sessions on the view class,
so each app gets its own view classes."""

from __future__ import annotations

from rest_service.app.main import create_app
from rest_service.app.settings import Settings
from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import login


async def test_a_second_app_does_not_point_the_first_ones_admin_at_its_database(
    api: Api, settings: Settings, secrets: dict[str, str]
) -> None:
    missing = settings.async_database_url.rsplit("/", 1)[0] + "/no_such_database_here"
    other = create_app(settings.model_copy(update={"async_database_url": missing}))
    async with other.router.lifespan_context(other):
        pass

    await login(api.http, secrets["ADMIN_API_TOKEN"])
    for page in ("/admin/llm-model/list", "/admin/user/list", "/admin/conversations"):
        response = await api.http.get(page)
        assert response.status_code == 200, page
        assert "no_such_database_here" not in response.text, page
