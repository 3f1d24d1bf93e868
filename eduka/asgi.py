"""ASGI entry point (unused in production, which serves WSGI through gunicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduka.settings.dev")
application = get_asgi_application()
