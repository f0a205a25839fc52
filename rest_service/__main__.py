"""`python -m rest_service`: serve the API with uvicorn."""

from common.infrastructure.serve import serve_asgi
from common.infrastructure.settings import load_settings
from rest_service.app.settings import Settings

if __name__ == "__main__":
    serve_asgi("rest_service.app.main:app", load_settings(Settings))
