"""``python -m cli`` runs the tasktrail console script."""

from cli.main import app

app()
