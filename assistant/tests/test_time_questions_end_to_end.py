"""Through the running assistant: a time the resolver cannot pin down reaches the model as a
question for the user, and the user gets that question, not a guess and not silence; an ISO
local time is answered in the user's zone."""

from __future__ import annotations

import json
from typing import Any

from assistant.tests.support import Deployment
from sandbox.llm_server import RecordedRequest


def tool_results(request: RecordedRequest) -> list[Any]:
    return [json.loads(m["content"]) for m in request.messages if m.get("role") == "tool"]


async def test_an_ambiguous_hour_comes_back_to_the_user_as_a_question(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    mia = await deployment.user("Mia", timezone="Asia/Tokyo")
    deployment.llm.call("time", {"action": "resolve", "phrase": "tomorrow at 3"})

    answer = await deployment.ask(mia, "what is tomorrow at 3?")

    [result] = tool_results(deployment.llm.requests[1])
    assert result["error"].startswith("Do not guess; ask the user:")
    assert "3:00 in the morning or 15:00 in the afternoon?" in answer.text


async def test_an_iso_local_time_is_read_in_the_users_zone(deployment: Deployment) -> None:
    await deployment.assistant()
    leo = await deployment.user("Leo", timezone="America/Los_Angeles")
    deployment.llm.call("time", {"action": "resolve", "phrase": "2030-03-10T09:30"})

    answer = await deployment.ask(leo, "when is that?")

    [result] = tool_results(deployment.llm.requests[1])
    assert result["datetime"] == "2030-03-10T09:30:00-07:00"  # PDT: the spring change is 03-10
    assert "09:30" in answer.text
