"""Packaging: the Dockerfile and the example environment match what the code expects."""

from __future__ import annotations

import re
from pathlib import Path

from app.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def test_dockerfile_is_multi_stage_on_slim_python() -> None:
    bases = [rest for keyword, rest in _instructions() if keyword == "FROM"]

    assert len(bases) == 2
    assert all(base.startswith("python:3.11-slim") for base in bases)


def test_dockerfile_runs_as_non_root_user() -> None:
    users = [rest for keyword, rest in _instructions() if keyword == "USER"]

    assert users
    assert users[-1] not in {"root", "0"}


def test_dockerfile_checks_health_on_healthz() -> None:
    checks = [rest for keyword, rest in _instructions() if keyword == "HEALTHCHECK"]

    assert len(checks) == 1
    assert "/healthz" in checks[0]


def test_dockerfile_trusts_no_forwarded_headers_by_default() -> None:
    command = [rest for keyword, rest in _instructions() if keyword == "CMD"][-1]

    assert '"lookout", "serve"' in command
    assert '"*"' not in command


def test_dockerignore_keeps_secrets_and_venv_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert ".env" in ignored
    assert ".venv" in ignored


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))

    expected = {name.upper() for name in Settings.model_fields}

    assert expected - listed == set()
