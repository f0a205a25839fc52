"""The sync rules (domain/task_sync.plan) over any sequence of edits on both sides: after a
sync, and a second one to read back its own writes, both sides hold the same tasks; a task
deleted on one side is gone from both; changed on both, the later change wins."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from common.infrastructure.wire import Task, TaskPriority, TaskStatus
from google_calendar_service.src.domain.task_sync import (
    from_google,
    parse_stamp,
    plan,
    to_google,
)
from tests.tiers import examples

UTC_ZONE = ZoneInfo("UTC")
START = datetime(2030, 1, 1, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class World:
    """Both sides in memory: rest_service's tasks and Google's list, one shared clock."""

    now: datetime = START
    local: dict[uuid.UUID, Task] = field(default_factory=dict)
    remote: dict[str, dict[str, Any]] = field(default_factory=dict)
    deletions: list[str] = field(default_factory=list)
    updated_min: str | None = None
    #: The Google tasks of tasks the user deleted here: never taken back.
    gone: set[str] = field(default_factory=set)

    def tick(self) -> datetime:
        self.now += timedelta(milliseconds=7)
        return self.now

    # -- the two sides, as rest_service and Google keep them -----------------------------------

    def put_local(self, task: Task | None, **changes: Any) -> Task:
        at = self.tick()
        if task is None:
            base = {"id": uuid.uuid4(), "user_id": uuid.uuid4(), "priority": TaskPriority.normal,
                    "reminder_job_id": None, "completed_at": None, "idempotency_key": None,
                    "created_at": at, "notes": None, "deadline": None,
                    "status": TaskStatus.open}  # fmt: skip
            task = Task.model_validate({**base, **changes, "updated_at": at})
        else:
            task = task.model_copy(update={**changes, "updated_at": at})
        self.local[task.id] = task
        return task

    def delete_local(self, task: Task, *, from_google: bool = False) -> None:
        task = self.local.pop(task.id)
        if task.google_task_id and not from_google:
            self.deletions.append(task.google_task_id)
            self.gone.add(task.google_task_id)

    def put_remote(self, task_id: str | None, body: dict[str, Any]) -> dict[str, Any]:
        item = dict(self.remote.get(task_id or "", {"id": task_id or uuid.uuid4().hex}))
        item.update(body)
        item = {k: v for k, v in item.items() if v is not None}
        item["updated"] = _stamp(self.tick())
        self.remote[item["id"]] = item
        return item

    def link(self, task: Task, item: dict[str, Any]) -> bool:
        """As rest_service marks it: False when the task was deleted here meanwhile."""
        if task.id not in self.local:
            return False
        self.local[task.id] = task.model_copy(
            update={"google_task_id": item["id"], "google_updated": item["updated"],
                    "google_synced_at": task.updated_at}
        )  # fmt: skip
        return True

    # -- a sync: the plan, done as TaskSync does it -------------------------------------------

    def sync(self, meanwhile: Callable[[], None] = lambda: None, *, lose_links: int = 0) -> None:
        """As TaskSync reads: Google, the tasks here, then the deletions still to send (the
        user may delete a task between the two: `meanwhile`). `lose_links`: that many marks
        after an insert fail to save (the insert reached Google)."""
        since = self.updated_min
        changed = [
            r for r in self.remote.values()
            if since is None or parse_stamp(r["updated"]) >= parse_stamp(since)
        ]  # fmt: skip
        tasks = list(self.local.values())
        meanwhile()
        steps = plan(tasks, changed, list(self.deletions), full=since is None,
                     updated_min=since, tz=UTC_ZONE)  # fmt: skip
        for step in steps.steps:
            if step.kind == "push_new" and lose_links > 0:
                lose_links -= 1
                self.put_remote(None, to_google(step.task, UTC_ZONE))  # type: ignore[arg-type]
                return  # the sync failed there: updated_min stays
            self.do(step.kind, step.task, step.remote, step.google_task_id)
        self.updated_min = steps.updated_min
        back = {t.google_task_id for t in self.local.values()} & self.gone
        assert not back, f"deleted here, taken back from Google: {back}"

    def do(self, kind: str, task: Task | None, item: dict | None, google_id: str | None) -> None:
        if kind != "push_delete":  # a task deleted here is only ever deleted there
            ours = {task.google_task_id if task else None, google_id, item and item["id"]}
            assert not ours & set(self.deletions), (kind, ours)
        if kind == "push_delete":
            assert google_id is not None
            if google_id in self.remote:
                self.put_remote(google_id, {"deleted": True})
            self.deletions.remove(google_id)
        elif kind == "push_new":
            assert task is not None
            made = self.put_remote(None, to_google(task, UTC_ZONE))
            if not self.link(task, made):
                self.put_remote(made["id"], {"deleted": True})
        elif kind == "push_change":
            assert task is not None and google_id is not None
            if self.remote.get(google_id, {}).get("deleted"):
                self.delete_local(task, from_google=True)
            else:
                self.link(task, self.put_remote(google_id, to_google(task, UTC_ZONE)))
        elif kind == "pair":
            assert task is not None and item is not None
            if not self.link(task, item):
                self.put_remote(item["id"], {"deleted": True})
        elif kind == "drop_here":
            assert task is not None
            if task.id in self.local:
                self.delete_local(task, from_google=True)
        else:
            assert item is not None
            if task is not None and task.id not in self.local:
                return  # rest_service: 404, deleted here meanwhile
            fields = from_google(item, UTC_ZONE, task)
            if fields or task is None:
                task = self.put_local(task, **fields)
            self.link(task, item)

    def local_unlinked(self) -> bool:
        return all(t.google_task_id is None for t in self.local.values())

    def agree(self) -> None:
        live = {k: v for k, v in self.remote.items() if not v.get("deleted")}
        assert sorted(t.google_task_id or "" for t in self.local.values()) == sorted(live)
        for task in self.local.values():
            item = live[task.google_task_id or ""]
            assert from_google(item, UTC_ZONE, task) == {}, (task, item)


TITLES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                 max_size=30).map(lambda t: " ".join(t.split()) or "x")  # fmt: skip
CHANGES = st.tuples(
    st.sampled_from(
        [
            "done_here",
            "reopen_here",
            "delete_here",
            "rename_here",
            "done_there",
            "reopen_there",
            "delete_there",
            "rename_there",
            "due_here",
            "due_there",
            "sync",
            "sync_losing_a_link",
            "delete_here_during_sync",
        ]
    ),
    st.integers(0, 9),
)
#: Edits, changes three times as often as new tasks.
EDIT = st.one_of(st.tuples(st.sampled_from(["add_here", "add_there"]), TITLES), *[CHANGES] * 3)


def _edit(world: World, edit: tuple[str, Any]) -> None:
    kind, arg = edit
    here = sorted(world.local.values(), key=lambda t: str(t.id))
    there = sorted((r for r in world.remote.values() if not r.get("deleted")),
                   key=lambda r: r["id"])  # fmt: skip
    if kind == "add_here":
        world.put_local(None, title=arg)
    elif kind == "add_there":
        world.put_remote(None, {"title": arg, "status": "needsAction"})
    elif kind == "sync":
        world.sync()
    elif kind == "sync_losing_a_link":
        world.sync(lose_links=1)
    elif kind == "delete_here_during_sync":

        def delete_one() -> None:
            if here:
                world.delete_local(here[arg % len(here)])

        world.sync(meanwhile=delete_one)
    elif kind.endswith("_here") and here:
        task = here[arg % len(here)]
        if kind == "delete_here":
            world.delete_local(task)
        else:
            here_edits: dict[str, dict[str, Any]] = {
                "done_here": {"status": TaskStatus.done},
                "reopen_here": {"status": TaskStatus.open},
                "rename_here": {"title": f"{task.title} again"},
                "due_here": {"deadline": START + timedelta(days=arg, hours=5)},
            }
            world.put_local(task, **here_edits[kind])
    elif kind.endswith("_there") and there:
        item = there[arg % len(there)]
        there_edits: dict[str, dict[str, Any]] = {
            "done_there": {"status": "completed"},
            "reopen_there": {"status": "needsAction"},
            "delete_there": {"deleted": True},
            "rename_there": {"title": f"{item.get('title', '')} there"},
            "due_there": {"due": f"2030-02-{arg + 1:02d}T00:00:00.000Z"},
        }
        world.put_remote(item["id"], there_edits[kind])


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(EDIT, max_size=25))
@example([("add_here", "a"), ("sync", 0), ("rename_there", 0), ("delete_here_during_sync", 0)])
@example([("add_here", "a"), ("sync_losing_a_link", 0), ("rename_here", 0)])
def test_after_a_sync_both_sides_hold_the_same_tasks(edits: list[tuple[str, Any]]) -> None:
    world = World()
    for edit in edits:
        _edit(world, edit)
    world.sync()
    world.sync()  # reads back its own writes: nothing left to do
    world.agree()
    assert world.deletions == []


def test_changed_on_both_sides_the_later_change_wins() -> None:
    world = World()
    task = world.put_local(None, title="call mum")
    world.sync()
    world.sync()
    [item] = world.remote.values()
    world.put_remote(item["id"], {"title": "call mum there"})
    world.put_local(world.local[task.id], title="call mum here")  # later
    world.sync()
    assert world.remote[item["id"]]["title"] == "call mum here"
    world.put_local(world.local[task.id], title="here first")
    world.put_remote(item["id"], {"title": "there later"})
    world.sync()
    assert world.local[task.id].title == "there later"


def test_a_due_date_from_google_keeps_the_time_of_day_here_or_ends_the_day() -> None:
    world = World()
    task = world.put_local(None, title="t", deadline=datetime(2030, 1, 2, 9, 30, tzinfo=UTC))
    moved = from_google({"title": "t", "status": "needsAction",
                         "due": "2030-01-05T00:00:00.000Z"}, UTC_ZONE, task)  # fmt: skip
    assert moved == {"deadline": datetime(2030, 1, 5, 9, 30, tzinfo=UTC)}
    fresh = from_google({"title": " a  b ", "due": "2030-01-05T00:00:00.000Z"}, UTC_ZONE, None)
    assert fresh["deadline"] == datetime(2030, 1, 5, 23, 59, tzinfo=UTC_ZONE)
    assert fresh["title"] == "a b" and from_google({}, UTC_ZONE, None)["title"] == "(untitled)"


def test_a_task_deleted_here_while_a_sync_reads_is_only_deleted_there() -> None:
    """TaskSync reads the tasks, then the deletions still to send; a task deleted between
    the two reads is in both, and its Google task, changed there meanwhile, is not taken back
    (nor sent to)."""
    world = World()
    task = world.put_local(None, title="water the plants")
    world.sync()
    [item] = world.remote.values()
    world.put_remote(item["id"], {"title": "water the plants there"})
    world.sync(meanwhile=lambda: world.delete_local(world.local[task.id]))
    assert world.local == {} and world.remote[item["id"]]["deleted"]
    assert world.deletions == []


def test_an_insert_whose_link_was_lost_is_linked_at_the_next_sync_not_sent_again() -> None:
    """Google has the task, the mark here failed to save: the next sync finds it (the same
    title, notes, due date and status, new in Google) and links it."""
    world = World()
    world.put_local(None, title="renew passport", deadline=START + timedelta(days=3))
    world.sync(lose_links=1)
    assert len(world.remote) == 1 and world.local_unlinked()
    world.sync()
    world.sync()
    [item] = world.remote.values()
    [task] = world.local.values()
    assert task.google_task_id == item["id"] and not item.get("deleted")


def test_the_same_to_do_on_both_sides_before_the_first_sync_becomes_one() -> None:
    world = World()
    world.put_local(None, title="buy milk")
    world.put_remote(None, {"title": "buy milk", "status": "needsAction"})
    world.put_remote(None, {"title": "buy milk", "status": "needsAction"})
    world.sync()
    world.sync()
    world.agree()
    assert len(world.local) == 2 and len(world.remote) == 2
