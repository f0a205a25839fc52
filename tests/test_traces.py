"""One message, one trace (decision 0069), across real processes: every service exports to an
OTLP/HTTP receiver stand-in, a user writes to the bot in Telegram, and the spans of tg_bot,
the assistant and rest_service that follow form one connected trace, from the Telegram update
through both queues, the turn, its calls to rest_service, the model and a tool, to the
sendMessage that delivers the answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops.services import NAMES
from sandbox import telegram_updates as build
from sandbox.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.system import DEFAULT_MODEL, Person, System
from tests.waiting import until

#: Spans leave each service every 100 ms instead of the SDK's 5 s.
TRACED = {"OTEL_BSP_SCHEDULE_DELAY": "100"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as started:
        yield started


@pytest.fixture(scope="module")
def system_env(receiver: OtlpReceiver) -> dict[str, dict[str, str]]:
    """Every service exports its traces to `receiver`."""
    return {name: {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, **TRACED} for name in NAMES}


def _one(spans: list[ReceivedSpan], service: str, name: str) -> ReceivedSpan:
    found = [s for s in spans if (s.service, s.name) == (service, name)]
    assert len(found) == 1, f"{service} {name}: {[(s.service, s.name) for s in spans]}"
    return found[0]


def _ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[str]:
    """The names of `span`'s parents up to the root, nearest first."""
    names = []
    while span.parent_span_id:
        span = by_id[span.parent_span_id]
        names.append(f"{span.service}: {span.name}")
    return names


async def test_a_message_is_one_connected_trace_across_the_services(
    whole_system: System, receiver: OtlpReceiver
) -> None:
    system = whole_system
    person = Person.new("Tracy")
    system.llm.call("time", {"action": "now", "timezone": "Europe/Berlin"}, contains="o'clock")
    chat = build.private_chat(person.telegram)
    update_id = system.telegram.inject(build.message(chat, person.telegram, text="o'clock?"))
    await system.next_message(chat["id"], after=0)

    def root() -> ReceivedSpan | None:
        return next(
            (
                s
                for s in receiver.received()
                if s.name == "telegram update" and s.attributes["telegram.update_id"] == update_id
            ),
            None,
        )

    update = await until(root, 20, "tg_bot's span of the update")

    def delivered() -> list[ReceivedSpan] | None:
        """The trace once the answer's sendMessage and all its parents are in (a parent ends,
        and is exported, after its children)."""
        spans = receiver.trace(update.trace_id)
        ids = {s.span_id for s in spans}
        sent = any(s.name == "telegram sendMessage" for s in spans)
        whole = all(s.parent_span_id in ids for s in spans if s.parent_span_id)
        return spans if sent and whole else None

    spans = await until(delivered, 20, "the whole trace up to the answer's sendMessage")
    by_id = {s.span_id: s for s in spans}

    # One trace (every parent is in it, `delivered`), and one root: the update.
    assert [s.name for s in spans if not s.parent_span_id] == ["telegram update"]
    assert {"tg_bot", "assistant", "rest_service"} <= {s.service for s in spans}
    assert all(s.status != 2 for s in spans), [s.name for s in spans if s.status == 2]

    turn = _one(spans, "assistant", "turn")
    assert _ancestors(turn, by_id) == [
        "assistant: queue:to_secretary process",
        "tg_bot: telegram update",
    ]
    chat_spans = [s for s in spans if s.name == f"chat {DEFAULT_MODEL}"]
    assert len(chat_spans) == 2  # the tool call, then the answer in words
    assert all(s.kind == "client" and s.parent_span_id == turn.span_id for s in chat_spans)
    assert chat_spans[0].attributes["gen_ai.response.tool_calls"] == 1
    tool = _one(spans, "assistant", "execute_tool time")
    assert tool.parent_span_id == turn.span_id and tool.attributes["tool.ok"] is True

    # The assistant's calls to rest_service: a client span each, rest_service's server span
    # (named by the route) its child.
    served = [s for s in spans if s.service == "rest_service" and s.kind == "server"]
    assert served
    for server in served:
        client = by_id[server.parent_span_id]
        assert (client.kind, client.attributes["peer.service"]) == ("client", "rest_service")
    assert any(by_id[s.parent_span_id].service == "assistant" for s in served)

    send = _one(spans, "tg_bot", "telegram sendMessage")
    assert _ancestors(send, by_id) == [
        "tg_bot: queue:to_telegram process",
        "assistant: queue:to_secretary process",
        "tg_bot: telegram update",
    ]
