"""`python -m cron_service`."""

from common.infrastructure import collector

if __name__ == "__main__":
    collector.starting()  # before the imports: see collector.py
    from common.infrastructure.runner import run_worker
    from cron_service.app.main import main

    run_worker(main)
