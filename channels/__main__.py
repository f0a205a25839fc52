"""`python -m channels`: serve the app with uvicorn (which stops it on SIGTERM)."""

from common.infrastructure import collector

if __name__ == "__main__":
    collector.starting()  # before the imports: see collector.py
    from channels.src.settings import Settings
    from common.infrastructure.serve import serve_asgi
    from common.infrastructure.settings import load_settings

    serve_asgi("channels.src.main:app", load_settings(Settings))
