"""`python -m channels`: serve the app with uvicorn (which stops it on SIGTERM)."""

from channels.src.settings import Settings
from common.infrastructure.serve import serve_asgi
from common.infrastructure.settings import load_settings

if __name__ == "__main__":
    serve_asgi("channels.src.main:app", load_settings(Settings))
