"""The public API channel (docs/api.md)."""

from channels.src.adapters.api.adapter import ApiAdapter

__all__ = ["ApiAdapter"]
