# The production image: one image for web, worker, beat (and the inbound SMTP server).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=eduka.settings.production

WORKDIR /app
RUN useradd --create-home --uid 10001 eduka
COPY pyproject.toml README.md ./
COPY eduka ./eduka
COPY accounts ./accounts
COPY school ./school
COPY mailing ./mailing
COPY notifications ./notifications
RUN pip install --no-cache-dir .
COPY . .
# Compile translations and collect static files at build time, with throw-away secrets that
# exist only for these two commands.
RUN pybabel compile -d locale -D django \
 && SECRET_KEY=build-only FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktbm90LXVzZWQtYXQtcnVuISE= \
    ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput
USER eduka
EXPOSE 8000
CMD ["gunicorn", "eduka.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
