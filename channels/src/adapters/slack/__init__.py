"""The Slack channel: Events API and interactivity in, Web API out (`adapter.py`)."""

from channels.src.adapters.slack.adapter import SlackAdapter

__all__ = ["SlackAdapter"]
