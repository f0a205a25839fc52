"""/health tells the truth about Redis, where OAuth states and outgoing messages live."""

from __future__ import annotations

import httpx

from google_calendar_service.src.main import create_app
from google_calendar_service.src.settings import Settings
from ops.infra import free_port
from tests.redis_clients import QUICK_RETRY_SETTINGS


async def _health(settings: Settings) -> httpx.Response:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gcal") as http:
            return await http.get("/health")


async def test_health_is_ok_with_redis_up(settings_env) -> None:
    response = await _health(Settings(_env_file=None))  # type: ignore[call-arg]
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["redis"]["ok"] is True


async def test_health_is_503_and_not_ok_with_redis_down(settings_env) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    # one quick retry: the probe finds Redis gone at once, not at its 2 s timeout
    settings = Settings(_env_file=None, redis_url=down, **QUICK_RETRY_SETTINGS)  # type: ignore[call-arg]
    response = await _health(settings)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] != "ok" and body["checks"]["redis"]["ok"] is False
