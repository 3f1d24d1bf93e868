"""docker-compose cannot run on these machines: check that it parses and that every command it
names exists in the project, so that it does not rot unnoticed."""

import importlib
import re
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)


def _services():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]


def _assert_command_exists(command):
    if command[:2] == ["python", "manage.py"]:
        assert command[2] in get_commands(), f"unknown management command {command[2]}"
    elif command[0] == "celery":
        assert command[1:3] == ["-A", "eduka"]
        assert command[3] in {"worker", "beat"}
        importlib.import_module("eduka.celery")
    elif command[0] == "gunicorn":
        module, attribute = command[1].split(":")
        assert hasattr(importlib.import_module(module), attribute)
    else:
        raise AssertionError(f"unexpected command {command}")


def test_it_parses_and_names_only_existing_commands():
    services = _services()
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    app_services = [name for name, spec in services.items() if spec.get("image") == "eduka-mail"]
    assert {"web", "worker", "worker-system", "beat", "migrate", "inbound",
            "submission"} <= set(app_services)
    for name in app_services:
        _assert_command_exists(services[name]["command"])


def test_it_shares_one_service_definition_and_no_default_secrets():
    text = (ROOT / "docker-compose.yml").read_text()
    assert text.count("<<: *app") >= 4
    services = _services()
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "eduka.settings.production"
        assert "SECRET_KEY" not in environment


def test_the_procfile_and_makefile_commands_exist():
    for line in (ROOT / "Procfile.dev").read_text().splitlines():
        command = line.split(":", 1)[1].split()
        command[0] = Path(command[0]).name
        if command[0] == "python":
            assert command[2] in get_commands()
        else:
            _assert_command_exists(command[:4])
    makefile = (ROOT / "Makefile").read_text()
    for command in re.findall(r"\$\(MANAGE\) (\w+)", makefile):
        assert command in get_commands()
