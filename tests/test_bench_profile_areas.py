"""bench/profile_areas.py: a py-spy raw profile read as where the CPU went, by library and by
service, each sample counted once."""

from __future__ import annotations

from bench.profile_areas import OUTSIDE, area_of, read, table

SITE = "/work/main/.venv/lib/python3.11/site-packages"
STDLIB = "/usr/lib/python3.11"

PROFILE = [
    # uvicorn parsing a request before any route: outside every service, self in uvicorn
    f"run (ops/one_process.py:40);_run_once ({STDLIB}/asyncio/base_events.py:1922);"
    f"data_received ({SITE}/uvicorn/protocols/http/httptools_impl.py:120) 3",
    # a route of rest_service running SQLAlchemy, under FastAPI
    f"_run_once ({STDLIB}/asyncio/base_events.py:1922);"
    f"app ({SITE}/starlette/routing.py:70);"
    f"turn_context (/work/main/rest_service/app/routes/threads.py:88);"
    f"execute ({SITE}/sqlalchemy/ext/asyncio/session.py:461) 5",
    # the assistant's turn, inside common's queue code, in json
    f"_run_once ({STDLIB}/asyncio/base_events.py:1922);"
    f"drive (/work/main/common/infrastructure/queue.py:300);"
    f"handle (/work/main/assistant/src/worker.py:50);"
    f"dumps ({STDLIB}/json/__init__.py:231) 2",
    "not a sample line",
]


def test_each_sample_is_counted_once_by_what_ran_and_by_which_service() -> None:
    areas = read(PROFILE)
    assert areas.samples == 10
    assert areas.self_time == {
        "uvicorn + httptools (HTTP server)": 3,
        "SQLAlchemy": 5,
        "json": 2,
    }
    assert areas.inside == {
        f"{OUTSIDE}: uvicorn + httptools (HTTP server)": 3,
        "rest_service": 5,
        "assistant": 2,
    }


def test_a_file_is_placed_by_its_package_wherever_it_is_installed() -> None:
    assert area_of(f"{SITE}/redis/asyncio/client.py") == "redis-py + hiredis"
    assert area_of("/usr/local/lib/python3.11/dist-packages/asyncpg/pool.py") == "asyncpg"
    assert area_of(f"{STDLIB}/asyncio/sslproto.py") == "asyncio (event loop, transports)"
    assert area_of("tg_bot/src/sender.py") == "ours: tg_bot"
    assert area_of(f"{SITE}/somelib/x.py") == "other: somelib"
    assert area_of("") == "other (native, no file)"  # a frame py-spy could not name


def test_a_file_is_placed_by_the_short_names_py_spy_gives_it() -> None:
    assert area_of("asyncio/base_events.py") == "asyncio (event loop, transports)"
    assert area_of("sqlalchemy/orm/session.py") == "SQLAlchemy"
    assert area_of("common/infrastructure/queue.py") == "ours: common"
    assert area_of("turn_context.py") == "ours: rest_service"  # found among our files
    assert area_of("contextlib.py") == "stdlib: contextlib"
    assert area_of("<frozen runpy>") == "stdlib: runpy"
    assert area_of("<sqlalchemy generated _go_1>") == "SQLAlchemy"


def test_the_table_gives_shares_and_milliseconds_per_message() -> None:
    areas = read(PROFILE)
    rendered = table(areas.inside, areas.samples, ms_per_sample=0.5)
    assert "| rest_service | 50.0 % | 2.50 |" in rendered
    assert rendered.splitlines()[2].startswith("| rest_service")  # largest first
    assert "ms/msg" not in table(areas.inside, areas.samples, None)
