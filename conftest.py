"""Loads the shared test harness for every service's tests."""

pytest_plugins = [
    "tests.harness",
    "tests.leaks",
    "tests.tiers",
    "tests.users",
    "tests.reminders",
    "tests.calendar_stack",
    "tests.shared_services",
    "tests.redis_topologies",
]
