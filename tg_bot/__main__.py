"""`python -m tg_bot`."""

from common.infrastructure.runner import run_worker
from tg_bot.src.main import main

if __name__ == "__main__":
    run_worker(main)
