"""The LLM layer through the real `openai` SDK against the chat-completions stand-in."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from assistant.src.clients.llm import BREAKER_OPEN, LlmGateway, LlmUnavailable, ModelRoute
from assistant.src.clients.llm_breaker import Admission, circuit_breaker
from assistant.src.settings import Settings
from common.infrastructure.redis_keys import Names
from common.tests.spans import recorded
from sandbox.llm_server import LlmStandIn, Step, ToolCallStep
from sandbox.server import ScriptedServer
from tests.waiting import until

HELLO = [{"role": "user", "content": "hello"}]


async def no_key(_provider_id: str) -> str | None:
    return None


@pytest.fixture
async def gateway(settings: Settings):
    gateway = LlmGateway(settings, no_key)
    yield gateway
    await gateway.aclose()


def routes(llm: LlmStandIn, *models: str) -> list[ModelRoute]:
    return [ModelRoute(m, llm.base_url) for m in models]


async def test_text_reply_carries_tokens_and_latency(llm, gateway) -> None:
    llm.reply("hi there")
    completion = await gateway.complete(routes(llm, "primary"), HELLO)
    assert completion.content == "hi there"
    assert completion.model == "primary"
    assert completion.tokens_in and completion.tokens_out
    assert completion.latency_ms >= 0
    assert llm.requests[0].model == "primary"


async def test_tool_calls_come_back_with_ids_and_json_arguments(llm, gateway) -> None:
    llm.script(Step(tool_calls=[ToolCallStep("time", {"action": "now"})]))
    tools = [{"type": "function", "function": {"name": "time", "parameters": {}}}]
    completion = await gateway.complete(routes(llm, "primary"), HELLO, tools)
    (call,) = completion.tool_calls
    assert call.name == "time" and call.arguments == '{"action": "now"}' and call.id
    assert llm.requests[0].tool_names == ["time"]


async def test_server_errors_are_retried_on_the_same_model(llm, gateway) -> None:
    llm.fail(500, times=2)
    llm.reply("third time lucky")
    completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    assert completion.content == "third time lucky"
    assert [r.model for r in llm.requests] == ["primary"] * 3


async def test_429_waits_for_retry_after(llm, gateway, settings: Settings) -> None:
    llm.fail(429, retry_after=0.6)
    llm.reply("after the wait")
    with capture_logs() as logs:
        completion = await gateway.complete(routes(llm, "primary"), HELLO)
    assert completion.content == "after the wait"
    # The wait the gateway chose is the server's, not its own backoff, and not capped below it.
    retries = [e for e in logs if e["event"] == "llm_retry"]
    assert [(r["attempt"], r["delay_s"]) for r in retries] == [(1, 0.6)]
    assert settings.llm_retry_max_seconds >= 0.6


async def test_a_model_that_keeps_failing_falls_back(llm, gateway) -> None:
    llm.fail(503, model="primary", times=None)
    llm.reply("from the fallback", model="fallback")
    completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    assert completion.content == "from the fallback" and completion.model == "fallback"
    assert [r.model for r in llm.requests] == ["primary"] * 3 + ["fallback"]


async def test_a_bad_request_goes_to_the_fallback_without_retries(llm, gateway) -> None:
    llm.fail(400, model="primary", times=None)
    completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    assert completion.model == "fallback"
    assert [r.model for r in llm.requests] == ["primary", "fallback"]


async def test_timeouts_are_retried_then_fall_back(llm, settings) -> None:
    fast = settings.model_copy(update={"llm_timeout_seconds": 0.3, "llm_max_attempts": 2})
    gateway = LlmGateway(fast, no_key)
    llm.script(Step(text="too late", delay=1.0, model="primary", times=None))
    try:
        completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
    assert completion.model == "fallback"


async def test_every_model_down_is_llm_unavailable(llm, gateway) -> None:
    llm.fail(500, times=None)
    with pytest.raises(LlmUnavailable) as caught:
        await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    assert [a.model for a in caught.value.attempts] == ["primary", "fallback"]


async def test_the_stand_in_rejects_a_tool_message_that_answers_no_call(llm, gateway) -> None:
    orphan = [*HELLO, {"role": "tool", "tool_call_id": "call_x", "content": "{}"}]
    with pytest.raises(LlmUnavailable) as caught:
        await gateway.complete(routes(llm, "primary"), orphan)
    assert "400" in caught.value.attempts[0].errors[0]
    assert llm.requests[0].status == 400


# -- the circuit breaker -------------------------------------------------------------------------


@pytest.fixture
def breaker_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "llm_breaker_failures": 5,
            "llm_breaker_window_seconds": 60.0,
            "llm_breaker_cooldown_seconds": 30.0,
        }
    )


def breaker_gateway(settings: Settings, redis: aioredis.Redis, names: Names) -> LlmGateway:
    return LlmGateway(settings, no_key, circuit_breaker(settings, redis, names))


def requested(llm: LlmStandIn) -> list[str]:
    return [r.model for r in llm.requests]


async def cooled_down(redis, names, model: str) -> None:
    """Until the model's open breaker's cool-down ran out (its key expired)."""
    key = names.llm_breaker(model, "open")

    async def expired() -> bool:
        return not await redis.exists(key)

    await until(expired, 5, "the cool-down over")


async def test_a_dead_model_is_skipped_once_its_breaker_opens(
    llm, breaker_settings, redis, names
) -> None:
    gateway = breaker_gateway(breaker_settings, redis, names)
    llm.fail(503, model="primary", times=None)
    try:
        with capture_logs() as logs:
            for _ in range(2):  # 3 + 2 failed attempts: the fifth opens the breaker
                completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
                assert completion.model == "fallback"
            assert requested(llm) == ["primary"] * 3 + ["fallback"] + ["primary"] * 2 + ["fallback"]
            llm.requests.clear()
            opened = len(logs)
            for _ in range(5):
                completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
                assert completion.model == "fallback"
            skipping = [e["event"] for e in logs[opened:]]
    finally:
        await gateway.aclose()
    assert requested(llm) == ["fallback"] * 5
    assert "llm_retry" not in skipping, "an open breaker neither asks the model nor waits"
    assert [e["event"] for e in logs].count("llm_breaker_opened") == 1
    assert REGISTRY.get_sample_value("smart_assistant_llm_breaker_open", {"model": "primary"}) == 1


async def test_the_breaker_is_shared_by_every_process(llm, breaker_settings, redis, names) -> None:
    """Another gateway (another assistant process) on the same Redis skips the model too."""
    first = breaker_gateway(breaker_settings, redis, names)
    second = breaker_gateway(breaker_settings, redis, names)
    llm.fail(503, model="primary", times=None)
    try:
        for _ in range(2):
            await first.complete(routes(llm, "primary", "fallback"), HELLO)
        llm.requests.clear()
        completion = await second.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await first.aclose()
        await second.aclose()
    assert completion.model == "fallback"
    assert requested(llm) == ["fallback"]


async def tripped_and_cooled(
    llm, breaker_settings, redis, names, *, failures: int | None
) -> LlmGateway:
    """A gateway whose breaker on "primary" opened (two failures) and has cooled down since;
    the model keeps failing `failures` times more (None: for good)."""
    fast = breaker_settings.model_copy(
        update={"llm_breaker_failures": 2, "llm_breaker_cooldown_seconds": 0.3}
    )
    gateway = breaker_gateway(fast, redis, names)
    llm.fail(503, model="primary", times=None if failures is None else 2 + failures)
    try:
        await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
        await cooled_down(redis, names, "primary")
    except BaseException:
        await gateway.aclose()
        raise
    llm.requests.clear()
    return gateway


async def test_after_the_cool_down_one_call_tries_the_model_and_closes_the_breaker(
    llm, breaker_settings, redis, names
) -> None:
    gateway = await tripped_and_cooled(llm, breaker_settings, redis, names, failures=0)
    try:
        with capture_logs() as logs:
            probed = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
            again = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
    assert probed.model == "primary" and again.model == "primary"
    assert requested(llm) == ["primary", "primary"]
    assert [e["event"] for e in logs].count("llm_breaker_closed") == 1
    assert REGISTRY.get_sample_value("smart_assistant_llm_breaker_open", {"model": "primary"}) == 0


async def test_a_failed_probe_is_one_request_and_opens_the_breaker_again(
    llm, breaker_settings, redis, names
) -> None:
    gateway = await tripped_and_cooled(llm, breaker_settings, redis, names, failures=None)
    try:
        probed = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
        skipped = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
    assert probed.model == skipped.model == "fallback"
    assert requested(llm) == ["primary", "fallback", "fallback"]


async def test_every_breaker_open_is_llm_unavailable_without_a_request(
    llm, breaker_settings, redis, names
) -> None:
    gateway = breaker_gateway(
        breaker_settings.model_copy(update={"llm_breaker_failures": 3}), redis, names
    )
    llm.fail(500, times=None)
    try:
        with pytest.raises(LlmUnavailable):
            await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
        llm.requests.clear()
        with capture_logs() as logs, pytest.raises(LlmUnavailable) as caught:
            await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
    # Refused at once: no retry waited for, no request sent.
    assert [e for e in logs if e["event"] == "llm_retry"] == []
    assert llm.requests == []
    assert [a.errors for a in caught.value.attempts] == [[BREAKER_OPEN], [BREAKER_OPEN]]


async def test_bad_requests_and_successes_do_not_open_the_breaker(
    llm, breaker_settings, redis, names
) -> None:
    """A 400 is the request's fault, and a success between failures resets the count."""
    gateway = breaker_gateway(
        breaker_settings.model_copy(update={"llm_breaker_failures": 3}), redis, names
    )
    try:
        for _ in range(4):
            llm.fail(400, model="primary")
            await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
        for _ in range(3):
            llm.fail(503, model="primary", times=2)
            await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
        llm.requests.clear()
        completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
    assert completion.model == "primary"
    assert requested(llm) == ["primary"]


async def breaker_commands(redis_url: str, names: Names, calls) -> list[str]:
    """The commands that reached Redis on this test's breaker keys while `calls` ran (MONITOR
    on a connection of its own: what the server saw, not what the code meant to send)."""
    watcher = aioredis.Redis.from_url(redis_url)
    seen: list[str] = []
    marked = asyncio.Event()
    async with watcher.monitor() as monitor:
        await monitor.connect()

        async def watch() -> None:
            async for command in monitor.listen():
                text = str(command.get("command", ""))
                if "breaker-test-done" in text:
                    marked.set()
                elif command.get("client_type") != "lua":  # not the script's own calls
                    seen.append(text)

        watching = asyncio.create_task(watch())
        await calls()
        await redis_marker(redis_url, names)
        await asyncio.wait_for(marked.wait(), 10)
        watching.cancel()
        # Ended before the monitor's connection closes: a read cancelled later, after the
        # connection went back, left a socket open until the loop closed.
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    await watcher.aclose()
    return [c for c in seen if f"{names.prefix}" in c and "llm_breaker" in c]


async def redis_marker(redis_url: str, names: Names) -> None:
    client = aioredis.Redis.from_url(redis_url)
    await client.get(f"{names.prefix}breaker-test-done")
    await client.aclose()


async def test_a_success_on_a_model_with_no_failures_costs_one_redis_call(
    llm, breaker_settings, redis, redis_url, names
) -> None:
    """The reset after a success was a second script run on every LLM call, though there was
    nothing to reset; it is sent only when failures were counted (by this call or before)."""
    gateway = breaker_gateway(breaker_settings, redis, names)
    try:
        clean = await breaker_commands(
            redis_url, names, lambda: gateway.complete(routes(llm, "primary"), HELLO)
        )
        llm.fail(503, model="primary", times=1)
        retried = await breaker_commands(
            redis_url, names, lambda: gateway.complete(routes(llm, "primary"), HELLO)
        )
    finally:
        await gateway.aclose()
    assert len(clean) == 1, clean  # the admission
    assert len(retried) == 3, retried  # the admission, the failure, the reset after success


async def test_with_redis_unreachable_the_breaker_lets_calls_through(llm, breaker_settings) -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    gateway = LlmGateway(breaker_settings, no_key, circuit_breaker(breaker_settings, dead, Names()))
    llm.reply("still here")
    try:
        completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
        await dead.aclose()
    assert completion.content == "still here"


async def test_a_probe_released_while_redis_is_unreachable_is_only_logged(
    breaker_settings,
) -> None:
    """A probe that ended with no verdict (a bad request) frees the model for the next call;
    with Redis gone that is a warning, and the turn's answer is not lost to it."""
    dead = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    breaker = circuit_breaker(breaker_settings, dead, Names())
    assert breaker is not None
    try:
        with capture_logs() as logs:
            await breaker.release("primary", Admission.PROBE)
    finally:
        await dead.aclose()
    assert [e["event"] for e in logs] == ["llm_breaker_unreachable"]


async def test_while_one_call_probes_the_others_skip_the_model(
    llm, breaker_settings, redis, names
) -> None:
    fast = breaker_settings.model_copy(
        update={"llm_breaker_failures": 2, "llm_breaker_cooldown_seconds": 0.3}
    )
    gateway = breaker_gateway(fast, redis, names)
    llm.fail(503, model="primary", times=2)
    try:
        await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
        await cooled_down(redis, names, "primary")
        llm.requests.clear()
        llm.script(Step(text="slow but back", delay=0.5, model="primary"))
        completions = await asyncio.gather(
            *(gateway.complete(routes(llm, "primary", "fallback"), HELLO) for _ in range(5))
        )
    finally:
        await gateway.aclose()
    assert sorted(c.model for c in completions) == ["fallback"] * 4 + ["primary"]
    assert requested(llm).count("primary") == 1


async def test_a_probe_answered_with_a_bad_request_lets_the_next_call_probe(
    llm, breaker_settings, redis, names
) -> None:
    """A 400 says nothing about the model: the probe's slot is freed, not held to its TTL."""
    gateway = await tripped_and_cooled(llm, breaker_settings, redis, names, failures=0)
    try:
        llm.fail(400, model="primary")
        refused = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
        probed = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
    assert (refused.model, probed.model) == ("fallback", "primary")
    assert requested(llm) == ["primary", "fallback", "primary"]


async def test_with_redis_unreachable_a_failing_model_is_retried_then_falls_back(
    llm, breaker_settings
) -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    gateway = LlmGateway(breaker_settings, no_key, circuit_breaker(breaker_settings, dead, Names()))
    llm.fail(503, model="primary", times=None)
    try:
        completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
        await dead.aclose()
    assert completion.model == "fallback"
    assert requested(llm) == ["primary"] * breaker_settings.llm_max_attempts + ["fallback"]


async def test_with_the_breaker_off_a_dead_model_is_asked_every_time(
    llm, settings, redis, names
) -> None:
    off = settings.model_copy(update={"llm_breaker_failures": 0})
    assert circuit_breaker(off, redis, names) is None
    gateway = breaker_gateway(off, redis, names)
    llm.fail(503, model="primary", times=None)
    try:
        for _ in range(3):
            await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
    assert requested(llm).count("primary") == 3 * settings.llm_max_attempts


def bad_gateway() -> web.Response:
    return web.Response(
        status=502,
        text="<html><body>502 Bad Gateway</body></html>",
        content_type="text/html",
        headers={"Retry-After": "soon"},
    )


def no_choice() -> web.Response:
    return web.json_response(
        {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}
    )


async def test_an_html_error_and_an_unreadable_retry_after_are_retried_and_told_briefly(
    settings,
) -> None:
    with ScriptedServer("/v1/chat/completions", bad_gateway, no_choice, method="POST") as proxy:
        gateway = LlmGateway(settings, no_key)
        try:
            with pytest.raises(LlmUnavailable) as caught:
                await gateway.complete(
                    [ModelRoute("primary", f"http://127.0.0.1:{proxy.port}/v1")], HELLO
                )
        finally:
            await gateway.aclose()
    assert proxy.hits == settings.llm_max_attempts
    (attempt,) = caught.value.attempts
    assert attempt.errors[0] == '502: "<html><body>502 Bad Gateway</body></html>"'
    assert attempt.errors[1:] == ["EmptyCompletion: completion without choices"] * 2


async def test_a_refused_key_goes_to_the_fallback_without_retries(llm, gateway) -> None:
    llm.fail(401, model="primary")
    completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    assert completion.model == "fallback"
    assert requested(llm) == ["primary", "fallback"]


async def test_the_tool_choice_goes_with_the_tools_and_not_without(llm, gateway) -> None:
    tools = [{"type": "function", "function": {"name": "time", "parameters": {}}}]
    await gateway.complete(routes(llm, "primary"), HELLO, tools, tool_choice="none")
    await gateway.complete(routes(llm, "primary"), HELLO, None, tool_choice="none")
    assert [(r.tool_choice, bool(r.tools)) for r in llm.requests] == [("none", True), (None, False)]


async def test_a_request_to_a_model_whose_breaker_is_open_is_refused_unsent(
    llm, breaker_settings, redis, names
) -> None:
    """Audio goes through `request`: an open breaker refuses it as it does a chat."""
    gateway = breaker_gateway(
        breaker_settings.model_copy(update={"llm_breaker_failures": 2}), redis, names
    )
    llm.fail(503, model="primary", times=None)
    asked: list[str] = []

    async def call(_client: object) -> str:
        asked.append("sent")
        return "spoken"

    try:
        await gateway.complete(routes(llm, "primary", "fallback"), HELLO)  # opens the breaker
        with pytest.raises(LlmUnavailable) as refused:
            await gateway.request(ModelRoute("primary", llm.base_url), call)
    finally:
        await gateway.aclose()
    assert asked == []
    assert [a.errors for a in refused.value.attempts] == [[BREAKER_OPEN]]


async def test_a_stream_that_keeps_breaking_opens_the_breaker_before_the_last_retry(
    llm, breaker_settings, redis, names
) -> None:
    gateway = breaker_gateway(
        breaker_settings.model_copy(update={"llm_breaker_failures": 2}), redis, names
    )
    llm.script(Step(text="never finished, never finished", break_after=2, model="primary",
                    times=None))  # fmt: skip
    heard: list[str] = []

    async def sink(text: str) -> None:
        heard.append(text)

    try:
        completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO, on_text=sink)
    finally:
        await gateway.aclose()
    assert completion.model == "fallback"
    assert requested(llm) == ["primary", "primary", "fallback"]


async def test_each_model_request_is_a_client_span_with_its_tokens(llm, gateway) -> None:
    """Decision 0069: a failed try is a span with the error, the retry one of its own."""
    llm.fail(500)
    llm.script(Step(tool_calls=[ToolCallStep("time", {"action": "now"})]))
    tools = [{"type": "function", "function": {"name": "time", "parameters": {}}}]
    with recorded("assistant") as spans:
        completion = await gateway.complete(routes(llm, "primary"), HELLO, tools)
        failed, answered = spans.get_finished_spans()
    assert [failed.name, answered.name] == ["chat primary", "chat primary"]
    assert (failed.kind, failed.status.status_code) == (SpanKind.CLIENT, StatusCode.ERROR)
    assert answered.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "primary",
        "gen_ai.usage.input_tokens": completion.tokens_in,
        "gen_ai.usage.output_tokens": completion.tokens_out,
        "gen_ai.response.tool_calls": 1,
    }
