"""Long-running loops: receiving updates, sending answers, showing typing."""
