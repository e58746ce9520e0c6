"""The command API: FastAPI routers that turn HTTP requests into commands."""
