"""The end-to-end tests share one rest_service database per worker with every other file:
each test starts on the platform's own secretary and models, whatever an earlier file did."""

from __future__ import annotations

from assistant.tests.support import Deployment


async def _model_id(deployment: Deployment, name: str) -> str:
    models = await deployment.admin.get_json("/api/llm-models/", limit=1000)
    return next(m["id"] for m in models if m["provider_model_name"] == name)


async def test_a_deactivated_default_and_a_taken_secretary_role_are_put_back(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    config = deployment.config
    primary = await _model_id(deployment, config.primary)
    await deployment.admin.put_json(f"/api/llm-models/{primary}", {"is_active": False})
    helper = await deployment.assistant_id(config.helper)
    await deployment.admin.put_json(f"/api/assistants/{helper}", {"is_secretary": True})

    await deployment.platform.put_back_its_config(deployment.rest)

    snapshot = await deployment.rest.get_config()
    assert snapshot.secretary is not None and snapshot.secretary.name == config.secretary
    default = next(m for m in snapshot.models if m.is_default)
    assert default.provider_model_name == config.primary
    ada = await deployment.user("Ada")
    await deployment.ask(ada, "who answers?")
    assert [r.model for r in deployment.llm.requests] == [config.primary]
