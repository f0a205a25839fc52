"""`python -m google_calendar_service`: serve the API with uvicorn."""

from common.infrastructure.serve import serve_asgi
from common.infrastructure.settings import load_settings
from google_calendar_service.src.settings import Settings

if __name__ == "__main__":
    serve_asgi("google_calendar_service.src.main:app", load_settings(Settings))
