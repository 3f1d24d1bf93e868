import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "eduka.settings.production",
    "SECRET_KEY": "a-production-like-secret-key-with-enough-entropy-8f3b2c1d9e7a6b5c4d",
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZpZWxkLWtleS1mb3ItdGVzdHMhISE=",
    "ALLOWED_HOSTS": "eduka.example.org",
    "DATABASE_URL": "sqlite:////tmp/eduka-check-deploy.sqlite3",
}


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_it_passes_check_deploy_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_in_production_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_refuses_to_start_in_production_without_encryption_keys():
    env = {**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_it_reads_secrets_from_files(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("a-secret-from-a-docker-secret-file-0123456789abcdefghijklmnop\n")
    env = {**PRODUCTION_ENV, "SECRET_KEY": "", "SECRET_KEY_FILE": str(secret_file)}
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)",
                     env=env)
    assert result.stdout.strip().splitlines()[-1] == (
        "a-secret-from-a-docker-secret-file-0123456789abcdefghijklmnop")


def test_it_has_no_missing_migrations():
    result = _manage("makemigrations", "--check", "--dry-run",
                     env={"DJANGO_SETTINGS_MODULE": "eduka.settings.test"})
    assert result.returncode == 0, result.stdout + result.stderr
