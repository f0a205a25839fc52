"""`python -m rest_service`: serve the API with uvicorn."""

from common.infrastructure import collector

if __name__ == "__main__":
    collector.starting()  # before the imports: see collector.py
    from common.infrastructure.serve import serve_asgi
    from common.infrastructure.settings import load_settings
    from rest_service.app.settings import Settings

    serve_asgi("rest_service.app.main:app", load_settings(Settings))
