"""`python -m cron_service`."""

from common.infrastructure.runner import run_worker
from cron_service.app.main import main

if __name__ == "__main__":
    run_worker(main)
