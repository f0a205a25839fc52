"""`./manage.py chat`: an admin talks to the configured assistant from the terminal, through
the queues and a reply stream of the session's own (no Telegram). rest_service and the
assistant run as real processes; the LLM is the stand-in, reached as a configured provider."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.processes import Stack
from ops.services import ROOT
from sandbox.llm_server import LlmStandIn
from sandbox.open_meteo import OpenMeteoStandIn
from tests.harness import secretary_config
from tests.test_manage import MANAGE, bare_env

pytestmark = pytest.mark.e2e

SEED = ROOT / "rest_service" / "seed" / "default_config.json"


@pytest.fixture(scope="module")
def llm() -> Iterator[LlmStandIn]:
    with LlmStandIn() as server:
        yield server


@pytest.fixture
def model(llm: LlmStandIn) -> LlmStandIn:
    """The stand-in, with no requests of an earlier test."""
    llm.reset()
    return llm


@pytest.fixture(scope="module")
def weather() -> Iterator[OpenMeteoStandIn]:
    with OpenMeteoStandIn() as server:
        yield server


@pytest.fixture(scope="module")
def rest_stack(module_rest_service: Stack) -> Stack:
    """rest_service, once for the module: each test talks as a Telegram id of its own."""
    return module_rest_service


@pytest.fixture(scope="module")
def assistant_stack(rest_stack: Stack, llm: LlmStandIn, weather: OpenMeteoStandIn) -> Stack:
    """rest_service with a secretary on the stand-in (the seed's time and weather tools)."""
    stack = rest_stack
    suffix = uuid.uuid4().hex[:8]
    tools = [t for t in json.loads(SEED.read_text())["tools"] if t["name"] in ("time", "weather")]
    stack.import_config(
        secretary_config(
            provider=f"chat-sandbox-{suffix}",
            base_url=llm.base_url,
            api_key="sk-configured",
            model="chat-model",
            secretary=f"chat-secretary-{suffix}",
            tools=tools,
        )
    )
    # No default provider key: the answer can only come through the configured provider.
    outside = {
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": llm.base_url,
        "WEATHER_API_URL": weather.forecast_url,
        "GEOCODING_API_URL": weather.geocoding_url,
    }
    stack.start("assistant", env=outside)
    return stack


def chat(
    stack: Stack, tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = bare_env(
        REDIS_URL=stack.env["REDIS_URL"],
        REDIS_KEY_PREFIX=stack.env["REDIS_KEY_PREFIX"],
        REST_SERVICE_URL=stack.url("rest_service"),
        SERVICE_API_TOKEN=stack.env["SERVICE_API_TOKEN"],
    )
    command = [*MANAGE, "--env-file", str(tmp_path / "no.env"), "chat", "--timeout", "60", *args]
    return subprocess.run(
        command, env=env, input=stdin, capture_output=True, text=True, timeout=90, cwd=ROOT
    )


@pytest.mark.timeout(150)
def test_one_message_gets_the_assistants_answer_through_the_configured_provider(
    assistant_stack: Stack, model: LlmStandIn, tmp_path: Path
) -> None:
    result = chat(assistant_stack, tmp_path, "-m", "what time is it in Tokyo?")

    assert result.returncode == 0, result.stderr
    assert "Asia/Tokyo (UTC+09:00)" in result.stdout
    assert {r.api_key for r in model.requests} == {"sk-configured"}
    assert sorted(model.requests[0].tool_names) == ["time", "weather"]


@pytest.mark.timeout(150)
def test_a_session_keeps_talking_until_quit(assistant_stack: Stack, tmp_path: Path) -> None:
    result = chat(
        assistant_stack,
        tmp_path,
        "--telegram-id",
        "77",
        stdin="weather in Paris\nhello there\n/quit\nnever sent\n",
    )

    assert result.returncode == 0, result.stderr
    answers = [line for line in result.stdout.splitlines() if line.startswith("assistant> ")]
    assert answers[0].startswith("assistant> Weather in **Paris")
    assert answers[1] == "assistant> You said: hello there"
    assert "never sent" not in result.stdout


def test_without_a_service_token_chat_says_what_to_do(tmp_path: Path) -> None:
    env = bare_env()
    result = subprocess.run(
        [*MANAGE, "--env-file", str(tmp_path / "no.env"), "chat", "-m", "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "SERVICE_API_TOKEN is not set" in result.stderr


@pytest.fixture
def rest_only(rest_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """rest_service, and queues under a key prefix no assistant reads; the shell's settings
    are this stack's."""
    stack = rest_stack
    for name in ("REDIS_SENTINELS", "REDIS_CLUSTER", "SMART_ASSISTANT_BASE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", stack.env["REDIS_URL"])
    monkeypatch.setenv("REDIS_KEY_PREFIX", f"{stack.env['REDIS_KEY_PREFIX']}no-assistant:")
    monkeypatch.setenv("REST_SERVICE_URL", stack.url("rest_service"))
    monkeypatch.setenv("SERVICE_API_TOKEN", stack.env["SERVICE_API_TOKEN"])
    return stack


def test_with_no_assistant_a_message_gets_an_honest_timeout_and_a_pipe_just_ends(
    rest_only: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import io

    from ops.cli import main

    common = ["--env-file", str(tmp_path / "no.env"), "chat", "--timeout", "1"]
    assert main([*common, "-m", "hi"]) == 1
    assert capsys.readouterr().err == (
        "manage.py: error: no answer in 1s: is the assistant running?\n"
    )
    # Blank lines are not sent (nothing to wait for); the end of the input ends the session.
    monkeypatch.setattr("sys.stdin", io.StringIO("\n   \n"))
    assert main(common) == 0
    out, err = capsys.readouterr()
    assert "Chatting with the assistant through the queues. /quit to leave." in err
    assert out == ""  # no prompt for a pipe
