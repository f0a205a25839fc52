"""common.infrastructure.rest_client's typed methods against the real rest_service (in-process)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.infrastructure.errors import NotFoundError, ValidationFailedError
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import (
    CronJobStatus,
    CronJobType,
    MessageIn,
    MessageRole,
    RunOutcome,
)
from rest_service.tests.conftest import Api, telegram_id, unique


async def test_users(rest: RestClient, api: Api) -> None:
    model = await api.model()
    tid = telegram_id()
    user, made = await rest.get_or_create_user(tid, username="ann", language="en")
    again, made_again = await rest.get_or_create_user(tid)
    assert (made, made_again) == (True, False) and again.id == user.id
    assert (await rest.get_user(user.id)).telegram_id == tid
    assert (await rest.get_user_by_telegram(tid)).id == user.id
    updated = await rest.update_user(
        user.id, timezone="Europe/Berlin", preferred_model=model["name"]
    )
    assert updated.timezone == "Europe/Berlin" and updated.username == "ann"
    cleared = await rest.update_user(user.id, preferred_model=None)
    assert cleared.preferred_model is None and cleared.timezone == "Europe/Berlin"
    with pytest.raises(ValidationFailedError) as error:
        await rest.update_user(user.id, timezone="Mars/Olympus")
    assert error.value.fields[0].field == "timezone"
    assert [u.id for u in await rest.list_users(limit=1000)] == [user.id]
    await rest.delete_user(user.id)
    with pytest.raises(NotFoundError):
        await rest.get_user_by_telegram(tid)


async def test_config_threads_and_messages(rest: RestClient, api: Api) -> None:
    assistant = await api.assistant()
    config = await rest.get_config()
    assert config.version == await rest.get_config_version()
    assert [str(a.id) for a in config.assistants] == [assistant["id"]]
    key = unique("conv")
    thread = await rest.get_or_create_thread(key, assistant["id"])
    assert (await rest.get_thread(thread.thread_id)).id == thread.id
    assert [t.id for t in await rest.list_threads(conversation_key=key)] == [thread.id]
    first = await rest.append_message(
        thread.thread_id, MessageRole.user, "the parrot is called Kesha", dedup_key=unique("d")
    )
    batch = await rest.append_messages(
        thread.thread_id,
        [
            MessageIn(role=MessageRole.assistant, content="Nice name."),
            MessageIn(role=MessageRole.user, content="Yes"),
        ],
    )
    said = MessageIn(role=MessageRole.user, content="Bye", dedup_key=unique("d"))
    assert await rest.store_messages(thread.thread_id, [said]) is True
    assert await rest.store_messages(thread.thread_id, [said]) is False  # stored already
    assert [m.content for m in await rest.list_messages(thread.thread_id)] == [
        "the parrot is called Kesha",
        "Nice name.",
        "Yes",
        "Bye",
    ]
    recent = await rest.recent_messages(thread.thread_id, limit=3)
    assert [m.id for m in recent][:2] == [m.id for m in batch]
    hits = await rest.search_messages(key, "parrot", before_id=batch[0].id)
    assert [h.id for h in hits] == [first.id]
    reset = await rest.reset_threads(key)
    assert reset[0].thread_id != thread.thread_id


async def test_models_provider_key_and_calendar(rest: RestClient, api: Api) -> None:
    provider = await api.provider(api_key="sk-client-test-9999")
    model = await api.model(provider["id"])
    assert [str(m.id) for m in await rest.list_models()] == [model["id"]]
    assert str((await rest.get_model(model["id"])).provider.id) == provider["id"]
    assert await rest.get_provider_api_key(provider["id"]) == "sk-client-test-9999"
    user = await api.user()
    assert await rest.get_calendar_credentials(user["id"]) is None
    stored = await rest.put_calendar_credentials(user["id"], {"token": "t"})
    assert stored.credentials == {"token": "t"}
    found = await rest.get_calendar_credentials(user["id"])
    assert found is not None and found.valid is True
    await rest.delete_calendar_credentials(user["id"])
    assert await rest.get_calendar_credentials(user["id"]) is None


async def test_cron_jobs_runs_and_invocations(rest: RestClient, api: Api) -> None:
    user = await api.user()
    when = datetime.now(UTC) + timedelta(hours=1)
    key = unique("idem")
    job = await rest.create_cron_job(
        name="call mom",
        chat_id=7,
        user_id=user["id"],
        text="call mom",
        run_at=when,
        idempotency_key=key,
    )
    assert (
        await rest.create_cron_job(name="x", chat_id=7, text="x", run_at=when, idempotency_key=key)
    ).id == job.id
    recurring = await rest.create_cron_job(
        name="standup",
        chat_id=7,
        user_id=user["id"],
        type=CronJobType.assistant_prompt,
        prompt="plan my day",
        cron_expression="0 9 * * 1-5",
        timezone="Europe/Paris",
    )
    assert (await rest.get_cron_job(job.id)).text == "call mom"
    due = await rest.list_cron_jobs(
        user_id=user["id"], status=CronJobStatus.active, due_before=when + timedelta(minutes=1)
    )
    assert job.id in [j.id for j in due]
    every = [j.id async for j in rest.iter_cron_jobs(user_id=user["id"])]
    assert set(every) == {job.id, recurring.id}
    updated = await rest.update_cron_job(job.id, last_run_at=when, status=CronJobStatus.done)
    assert updated.status == "done" and updated.next_run_at is None
    run = await rest.append_cron_job_run(
        job.id,
        scheduled_for=when,
        outcome=RunOutcome.on_time,
        delivered_at=when,
        message_id=str(uuid.uuid4()),
    )
    again = await rest.append_cron_job_run(job.id, scheduled_for=when, outcome=RunOutcome.late)
    assert again.id == run.id
    assert [r.id for r in await rest.list_cron_job_runs(job.id)] == [run.id]
    assert [r.id for r in await rest.list_runs(job_id=job.id, outcome=RunOutcome.on_time)] == [
        run.id
    ]
    await rest.delete_cron_job(job.id)
    with pytest.raises(NotFoundError):
        await rest.get_cron_job(job.id)
    invocation = await rest.append_tool_invocation(
        "time", ok=True, duration_ms=5, user_id=user["id"]
    )
    assert invocation.tool_name == "time" and invocation.ok is True
