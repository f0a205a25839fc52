"""`python -m tg_bot`."""

from common.infrastructure import collector

if __name__ == "__main__":
    collector.starting()  # before the imports: see collector.py
    from common.infrastructure.runner import run_worker
    from tg_bot.src.main import main

    run_worker(main)
