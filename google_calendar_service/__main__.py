"""`python -m google_calendar_service`: serve the API with uvicorn."""

from common.infrastructure import collector

if __name__ == "__main__":
    collector.starting()  # before the imports: see collector.py
    from common.infrastructure.serve import serve_asgi
    from common.infrastructure.settings import load_settings
    from google_calendar_service.src.settings import Settings

    serve_asgi("google_calendar_service.src.main:app", load_settings(Settings))
