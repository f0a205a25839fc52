"""manage.py's operations: environment files, Postgres/Redis discovery and embedded servers,
service processes, dead letters. Runs inside the project's environment."""
