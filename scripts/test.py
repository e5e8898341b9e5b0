"""The test command behind `make test` and CI: prepare what the tests need, then run them all.

It installs Debian's Chromium and poppler-utils when missing (as root), makes sure the
local PostgreSQL server answers, then runs ruff, mypy and pytest with every part required
(a skipped test fails).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/herald_test"
BIN = os.path.dirname(sys.executable)


def sh(*cmd: str, check: bool = True) -> int:
    """Run a command, echoing it."""
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=check).returncode


# Debian packages the tests drive: the browser, and pdftoppm to check exported PDFs.
SYSTEM_TOOLS = {"chromium": "chromium", "pdftoppm": "poppler-utils"}


def ensure_system_tools() -> None:
    """Install the Debian packages the tests need when missing (as root), else explain."""
    missing = [pkg for tool, pkg in SYSTEM_TOOLS.items() if not shutil.which(tool)]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"missing: run `sudo apt-get install {' '.join(missing)}`, then `make test`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def pg_ready() -> bool:
    """True when the local PostgreSQL server accepts connections."""
    if not shutil.which("pg_isready"):
        return False
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0


def ensure_postgres() -> None:
    """Start the local cluster if it is installed but stopped."""
    if os.environ.get("HERALD_TEST_DATABASE_URL") or pg_ready():
        return
    if shutil.which("pg_ctlcluster") and os.path.isdir("/etc/postgresql"):
        for version in os.listdir("/etc/postgresql"):
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main",
                            "start"], check=False)
        for _ in range(30):
            if pg_ready():
                return
            time.sleep(1)  # waiting for a server to boot, not timing a test
    sys.exit("PostgreSQL is not reachable on 127.0.0.1:5432; start it or set "
             "HERALD_TEST_DATABASE_URL")


def main() -> int:
    """Prepare, lint, type-check and test."""
    ensure_system_tools()
    ensure_postgres()
    os.environ.setdefault("HERALD_TEST_DATABASE_URL", PG_DEFAULT)
    os.environ["HERALD_REQUIRE_ALL"] = "1"
    sh(f"{BIN}/ruff", "check", "src", "tests", "bench", "scripts")
    sh(f"{BIN}/mypy")
    return sh(f"{BIN}/pytest", *sys.argv[1:], check=False)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode or 1)
