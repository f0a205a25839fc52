"""The demo's terminal side, in this process: the stand-ins of `ops.demo.World` serve, and the
test plays the bot through the Telegram stand-in's Bot API (no services run), so each demo
command's answers and refusals show as a person at the terminal sees them."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
import redis as syncredis

from ops import demo as demo_module
from ops.demo import BOT_TOKEN, GROUP, HELP, YOU, Console, Demo, DemoError, DemoOptions, World
from ops.infra import DatabaseServer, Infra, admin_dsn
from ops.services import NAMES
from tests.waiting import until_sync


@pytest.fixture
def world() -> Iterator[World]:
    started = World()
    started.start()
    try:
        yield started
    finally:
        started.stop()


def bot_api(world: World, method: str, **params: Any) -> dict[str, Any]:
    """Call the Telegram stand-in as the bot does."""
    response = httpx.post(f"{world.telegram.url}/bot{BOT_TOKEN}/{method}", json=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


def bot_answers_the_next_update(world: World, text: str) -> threading.Thread:
    """The bot, once: it waits for the next update and replies to its message."""
    seen = len(world.telegram.updates)

    def answer() -> None:
        until_sync(lambda: len(world.telegram.updates) > seen, 10, "an update for the bot")
        message = world.telegram.updates[seen]["message"]
        bot_api(
            world,
            "sendMessage",
            chat_id=message["chat"]["id"],
            text=text,
            reply_to_message_id=message["message_id"],
        )

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


def demo_in(world: World, reply_timeout: float = 0.3) -> Demo:
    return Demo(world, Console(interactive=False), reply_timeout)


def test_quit_help_and_blank_lines(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    demo = demo_in(world)
    assert demo.handle("   ") is True
    assert demo.handle("/help") is True
    assert HELP in capsys.readouterr().out
    for word in ("/quit", "/exit", "quit", "EXIT"):
        assert demo.handle(word) is False


def test_click_opens_the_latest_or_the_numbered_link_and_says_when_it_cannot(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_in(world)
    demo.handle("/click")
    assert "(no link to click yet" in capsys.readouterr().out

    page = world.search.page_url("eiffel-tower")
    bot_api(world, "sendMessage", chat_id=YOU["id"], text=f'Read <a href="{page}">this</a>',
            parse_mode="HTML")  # fmt: skip
    looping = f"{world.search.base_url}/loop"
    bot_api(world, "sendMessage", chat_id=YOU["id"], text=f"or {looping}")
    demo.transcript.flush()
    shown = capsys.readouterr().out
    # A text link is listed under the text; a written-out URL is replaced where it stands.
    assert "bot> Read this\n     http://127.0.0.1:" in shown and "[link 1]" in shown
    assert "(/click 1 opens the link)" in shown
    assert f"bot> or {looping} [link 2]\n     (/click 2 opens the link)" in shown

    demo.handle("/click 1")
    opened = capsys.readouterr().out
    assert "browser> opening http://127.0.0.1:" in opened
    assert "browser> Eiffel Tower - facts: " in opened and "330 metres" in opened
    assert "not text" not in opened and "font:" not in opened  # no script, no style
    demo.handle("click")  # the latest link: one that redirects forever
    assert "browser> could not open it: " in capsys.readouterr().out
    demo.handle("/open 7")
    assert "(no link 7: there are 2)" in capsys.readouterr().out
    demo.handle("/click first")
    assert "(no link first: there are 2)" in capsys.readouterr().out


def test_a_private_message_waits_for_the_answer_or_says_none_came(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_in(world, reply_timeout=10)
    answering = bot_answers_the_next_update(world, "Hello, You!")
    demo.handle("hi there")
    answering.join(10)
    assert world.telegram.updates[-1]["message"]["text"] == "hi there"
    assert "bot> Hello, You!" in capsys.readouterr().out

    demo.reply_timeout = 0.2
    demo.handle("click to see")  # a word, not a demo command: it goes to the bot
    assert world.telegram.updates[-1]["message"]["text"] == "click to see"
    assert "(no answer in 0.2 s; see the logs)" in capsys.readouterr().out


def test_bob_speaks_in_the_group_to_the_bot_whose_reply_is_shown_there(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_in(world, reply_timeout=10)
    demo.handle("/group")
    assert "usage: /group TEXT" in capsys.readouterr().out
    assert world.telegram.updates == []

    answering = bot_answers_the_next_update(world, "Sunny in Berlin")
    demo.handle("/group weather in Berlin?")
    answering.join(10)
    shown = capsys.readouterr().out
    assert "Bob in Team> @smart_assistant_demo_bot weather in Berlin?" in shown
    assert "bot in Team> Sunny in Berlin" in shown
    [update] = world.telegram.updates
    assert update["message"]["chat"]["id"] == GROUP["id"]


def test_wait_takes_each_message_once_and_says_when_none_came(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_in(world)
    bot_api(world, "sendMessage", chat_id=YOU["id"], text="⏰ Stretch")
    demo.handle("/wait stretch 5")
    assert "bot> ⏰ Stretch" in capsys.readouterr().out
    demo.handle("/wait stretch 0.2")  # that one was waited for already
    assert "(nothing with 'stretch' in 0.2 s)" in capsys.readouterr().out


def test_an_edited_message_shows_its_new_text_once(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_in(world)
    first = bot_api(world, "sendMessage", chat_id=YOU["id"], text="Thinking")
    bot_api(world, "editMessageText", chat_id=YOU["id"], message_id=first["message_id"],
            text="It is 42")  # fmt: skip
    demo.transcript.flush()
    assert capsys.readouterr().out.count("bot> It is 42") == 1  # the edit is not shown twice
    bot_api(world, "editMessageText", chat_id=YOU["id"], message_id=first["message_id"],
            text="It is 43")  # fmt: skip
    demo.transcript.flush()
    assert capsys.readouterr().out == "bot> It is 43\n"


def test_a_script_plays_its_lines_with_an_echo_until_quit(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "tour.txt"
    script.write_text("# a comment\n\n/help\n  \n/quit\n/help\n")
    lines = demo_module.script_lines(str(script))
    assert lines == ["/help", "/quit", "/help"]
    options = DemoOptions(tmp_path, None, False, "smart_assistant_demo", "demo:", lines,
                          timeout=1, reply_timeout=0.2, env_file=tmp_path / "none.env")  # fmt: skip
    assert demo_module.converse(world, options) == 0
    out = capsys.readouterr().out
    assert out.startswith("you> /help\n") and out.count(HELP) == 1 and out.endswith("you> /quit\n")


def test_lines_from_a_pipe_are_played_without_a_prompt(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("/help\n\n/group\n"))
    options = DemoOptions(tmp_path, None, False, "smart_assistant_demo", "demo:", None,
                          timeout=1, reply_timeout=0.2, env_file=tmp_path / "none.env")  # fmt: skip
    assert demo_module.converse(world, options) == 0
    out = capsys.readouterr().out
    assert "you> /help\n" in out and "you> /group\nusage: /group TEXT" in out
    assert "/help lists the demo" not in out  # the greeting is for a terminal
    monkeypatch.setattr("sys.stdin", io.StringIO("# tour\n/help\n"))
    assert demo_module.script_lines("-") == ["/help"]


class TypedLine(io.StringIO):
    """A terminal's input: while the prompt waits, `arrives` is printed; then a line comes."""

    def __init__(self, console: Console, arrives: str) -> None:
        super().__init__()
        self.console, self.arrives = console, arrives

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]  # a text stream stands in for the console
        self.console.print(self.arrives)
        return "typed\n"


def test_at_a_terminal_a_message_arriving_at_the_prompt_is_printed_above_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    console = Console(interactive=True)
    monkeypatch.setattr("sys.stdin", TypedLine(console, "bot> ⏰ stretch"))
    assert console.read() == "typed"
    # The prompt's line is cleared, the message printed, and the prompt written again.
    assert "\r\033[Kbot> ⏰ stretch\nyou> " in capsys.readouterr().out
    console.print("bot> later")
    assert capsys.readouterr().out == "bot> later\n"


def test_the_demos_secrets_are_made_once_and_kept(tmp_path: Path) -> None:
    isolation = demo_module.Isolation(tmp_path / "demo", "smart_assistant_demo", "demo:")
    made = isolation.secrets()
    assert set(made) == {"ADMIN_API_TOKEN", "SERVICE_API_TOKEN", "LLM_MODEL_DECRYPT_KEY"}
    assert isolation.secrets() == made  # rows encrypted under the key stay readable
    assert oct((tmp_path / "demo" / "secrets.json").stat().st_mode)[-3:] == "600"


def test_the_clean_slate_is_refused_for_a_database_not_named_for_the_demo(tmp_path: Path) -> None:
    isolation = demo_module.Isolation(tmp_path, "smart_assistant", "demo:")
    found = Infra("postgresql+asyncpg://127.0.0.1:1/smart_assistant", "redis://127.0.0.1:1/0",
                  "configured", "configured")  # fmt: skip
    with pytest.raises(DemoError, match="refusing to reset 'smart_assistant'"):
        isolation.wipe(found)


def test_the_clean_slate_empties_the_demos_database_and_only_its_redis_keys(
    tmp_path: Path, postgres_server: DatabaseServer, redis_url: str
) -> None:
    database = f"smart_assistant_demo_{uuid.uuid4().hex[:8]}"
    url = postgres_server.create(database)
    tag = uuid.uuid4().hex[:6]
    prefix = f"demo[{tag}]*:"  # glob characters: they match only themselves
    keys = [f"{prefix}{n}" for n in range(1200)]  # more than one batch of deletes
    neighbour = f"demo{tag[0]}-{tag}:kept"  # what the prefix read as a glob would match
    client = syncredis.Redis.from_url(redis_url)
    try:
        conn = psycopg2.connect(admin_dsn(url))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE leftover (x int)")
        conn.close()
        client.mset({key: "1" for key in keys} | {neighbour: "kept"})
        demo_module.Isolation(tmp_path, database, prefix).wipe(
            Infra(url, redis_url, "configured", "configured")
        )
        conn = psycopg2.connect(admin_dsn(url))
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('leftover')")
            assert cur.fetchone() == (None,)
        conn.close()
        assert client.exists(*keys) == 0
        assert client.get(neighbour) == b"kept"
    finally:
        client.delete(neighbour, *keys)
        client.close()
        postgres_server.drop(url)


def test_the_first_free_ports_in_a_row_one_per_service_are_chosen(tmp_path: Path) -> None:
    import socket

    from ops.infra import free_port, port_answers

    start = free_port() // 10 * 10
    with socket.create_server(("127.0.0.1", start + 3)):
        base = demo_module.free_base_port(start)
    assert base > start and base % 10 == start % 10
    assert not any(port_answers("127.0.0.1", base + i) for i in range(len(NAMES)))


def test_the_demo_command_refuses_a_database_not_named_for_it_and_stops_what_it_started(
    tmp_path: Path,
    postgres_server: DatabaseServer,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import signal

    from ops.cli import main

    database = f"sa_test_other_{uuid.uuid4().hex[:8]}"
    for name in ("REDIS_SENTINELS", "REDIS_CLUSTER", "SMART_ASSISTANT_BASE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASYNC_DATABASE_URL", postgres_server.server_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = main(["--data-dir", str(tmp_path), "--env-file", str(tmp_path / "none.env"),
                     "demo", "--db-name", database, "-m", "hi"])  # fmt: skip
    finally:
        for sig, handler in handlers.items():  # the demo's own are for its process
            signal.signal(sig, handler)
        postgres_server.drop(f"{postgres_server.server_url.rsplit('/', 1)[0]}/{database}")
    assert code == 1
    err = capsys.readouterr().err
    assert f"manage.py: error: refusing to reset '{database}': not a demo database" in err
    assert "demo: stopping" in err and "demo: stopped" in err


class Terminal(io.StringIO):
    """Input from a terminal at which the person presses Ctrl-D straight away."""

    def isatty(self) -> bool:
        return True


def test_at_a_terminal_ctrl_d_ends_the_demo_after_the_greeting(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal(""))
    options = DemoOptions(tmp_path, None, False, "smart_assistant_demo", "demo:", None,
                          timeout=1, reply_timeout=0.2, env_file=tmp_path / "none.env")  # fmt: skip
    assert demo_module.converse(world, options) == 0
    out = capsys.readouterr().out
    assert "You are a Telegram user chatting with the bot. /help lists the demo" in out
    assert out.endswith("you> \n")  # the prompt, then a new line for the shell's
