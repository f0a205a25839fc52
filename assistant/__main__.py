"""`python -m assistant`."""

from assistant.src.main import main
from common.infrastructure.runner import run_worker

if __name__ == "__main__":
    run_worker(main)
