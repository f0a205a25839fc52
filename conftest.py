"""Loads the shared test harness for every service's tests."""

pytest_plugins = ["tests.harness"]
