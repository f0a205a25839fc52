"""users.event_alert_minutes: off by default, 0..1440, kept by partial updates, and the
`event_alerts` filter that cron_service's alert sweep lists users by."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.wire import User
from rest_service.tests.conftest import Api, assert_error


async def test_off_by_default_set_by_put_and_listed_by_the_filter(api: Api) -> None:
    user = await api.user()
    assert user["event_alert_minutes"] == 0
    path = f"/api/users/{user['id']}"
    on = await api.ok("PUT", path, api.service, json={"event_alert_minutes": 15})
    assert User.model_validate(on).event_alert_minutes == 15
    kept = await api.ok("PUT", path, api.service, json={"timezone": "Europe/Berlin"})
    assert kept["event_alert_minutes"] == 15
    alerting = await api.ok("GET", "/api/users/?event_alerts=true&limit=1000", api.service)
    quiet = await api.ok("GET", "/api/users/?event_alerts=false&limit=1000", api.service)
    assert user["id"] in {u["id"] for u in alerting}
    assert user["id"] not in {u["id"] for u in quiet}
    off = await api.ok("PUT", path, api.service, json={"event_alert_minutes": 0})
    assert off["event_alert_minutes"] == 0
    alerting = await api.ok("GET", "/api/users/?event_alerts=true&limit=1000", api.service)
    assert user["id"] not in {u["id"] for u in alerting}


@pytest.mark.parametrize("value", [-1, 1441, "soon", 2.5, [], {}])
async def test_out_of_range_or_not_a_number_is_422_naming_it(api: Api, value: object) -> None:
    user = await api.user()
    response = await api.http.put(
        f"/api/users/{user['id']}", json={"event_alert_minutes": value}, headers=api.service
    )
    assert assert_error(response, 422)["fields"][0]["field"] == "event_alert_minutes"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(minutes=st.integers(min_value=-10_000, max_value=10_000))
async def test_any_integer_is_kept_in_range_or_refused(api: Api, minutes: int) -> None:
    user = await api.user()
    response = await api.http.put(
        f"/api/users/{user['id']}", json={"event_alert_minutes": minutes}, headers=api.service
    )
    if 0 <= minutes <= 1440:
        assert response.status_code == 200 and response.json()["event_alert_minutes"] == minutes
    else:
        assert response.status_code == 422
