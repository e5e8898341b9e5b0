"""The real `herald` console script, as a newcomer runs it: init, demo, incident list --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from herald.settings import Settings

HERALD = Path(sys.executable).parent / "herald"


def _run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    return subprocess.run([str(HERALD), *args], cwd=cwd, env=clean | env, capture_output=True,
                          text=True, timeout=120, check=False)


def _env(settings: Settings) -> dict[str, str]:
    assert settings.database_url is not None
    return {"HERALD_HOME": str(settings.home),
            "HERALD_DATABASE_URL": settings.database_url.get_secret_value()}


def test_init_demo_and_list_with_the_console_script(settings: Settings, tmp_path: Path) -> None:
    """On SQLite and PostgreSQL, through HERALD_HOME and HERALD_DATABASE_URL."""
    assert HERALD.exists(), f"the console script is not installed at {HERALD}"
    env = _env(settings)
    for _ in range(2):  # init is idempotent
        init = _run(env, tmp_path, "init")
        assert init.returncode == 0, init.stderr
        assert init.stdout.startswith("database ready at revision ")

    demo = _run(env, tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "inc-4217" in demo.stdout
    again = _run(env, tmp_path, "demo")  # a second demo leaves the first as it is
    assert again.returncode == 0, again.stderr

    listed = _run(env, tmp_path, "incident", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [incident] = json.loads(listed.stdout)
    assert incident["ref"] == "inc-4217"
    assert incident["demo"] is True
    assert incident["title"].startswith("DEMO")
    assert incident["next_step"] == 10
    assert incident["deadline"]["hours"] == 72



@pytest.mark.parametrize(("args", "line"), [
    (["incident", "show", "inc-404"], "error: no incident 'inc-404'\n"),
    (["step", "done"], "error: Missing argument 'ref'. (see: herald step done --help)\n"),
])
def test_the_console_script_fails_with_one_line(tmp_path: Path, args: list[str], line: str) -> None:
    """Errors end the real process with a non-zero code and one line (the embedded SQLite)."""
    result = _run({"HERALD_HOME": str(tmp_path / "home")}, tmp_path, *args)
    assert result.returncode != 0
    assert result.stderr == line
    assert result.stdout == ""
