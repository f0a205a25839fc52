"""`python -m assistant`."""

from common.infrastructure import collector

if __name__ == "__main__":
    collector.starting()  # before the imports: see collector.py
    from assistant.src.main import main
    from common.infrastructure.runner import run_worker

    run_worker(main)
