"""The live admin configuration as the assistant sees it: the snapshot and its watcher."""
