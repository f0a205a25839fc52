"""`python -m assistant`."""

from assistant.src.main import main
from common.runner import run_worker

if __name__ == "__main__":
    run_worker(main)
