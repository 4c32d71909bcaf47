"""Shared test setup: a private Airflow home per test session, and where the real data sets are.

Airflow reads its configuration when it is first imported, so the environment is set in `pytest_configure`,
before any test module imports it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from daybreak.core.environment import read

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (PROJECT_ROOT / read("DAYBREAK_SHARED_DATA")).resolve()
REQUIRE_ALL = read("DAYBREAK_REQUIRE_ALL") == "1"
CHROMIUM = Path(read("DAYBREAK_CHROMIUM"))
# headless as root, and quiet: without the background-networking flags chromium keeps dialling out
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

TEST_PSEUDONYM_KEY = "daybreak-tests-pseudonym-key"
TEST_LINK_STORE_KEY = "ZGF5YnJlYWstdGVzdHMtbGluay1zdG9yZS1rZXktMzI="

_session_dir = Path(tempfile.mkdtemp(prefix="daybreak-tests-"))


def pytest_configure(config):
    from daybreak.core.settings import Settings
    from daybreak.platform.airflow_env import airflow_environment

    env = airflow_environment(Settings(home=_session_dir / "home"), base={})
    for key, value in env.items():
        if key.startswith("AIRFLOW"):
            os.environ[key] = value
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    # the privacy keys a deployment sets in .env (docs/privacy.md); fixed, so pseudonyms are the same every run
    os.environ.setdefault("DAYBREAK_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
    os.environ.setdefault("DAYBREAK_LINK_STORE_KEY", TEST_LINK_STORE_KEY)


def pytest_collection_modifyitems(config, items):
    """For `pytest -n` (the Makefile's `--dist loadfile --no-loadscope-reorder`: a module's tests share its
    fixtures, so each module runs on one worker, and the modules are handed out in this order): the modules marked
    `long` start first, the longest first (the marker's `minutes`, as measured), so that the workers finish
    together instead of one waiting on the last long module."""
    items.sort(key=lambda item: -expected_minutes(item))


def expected_minutes(item: pytest.Item) -> float:
    marker = item.get_closest_marker("long")
    return 0 if marker is None else marker.kwargs.get("minutes", 1)


def pytest_unconfigure(config):
    shutil.rmtree(_session_dir, ignore_errors=True)


def prepared(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder `build` fills once per test run, shared by every pytest-xdist worker: the first worker to ask builds
    it under a file lock while the others wait, then all read it. Built in place (a data home records absolute
    paths, so it cannot be built elsewhere and moved); a failed build is removed, so the next asker tries again.
    Treat it as read-only: a test that writes to a data home copies it first (`copy_home` in
    tests/integration/conftest.py, which also moves the paths the home records to the copy)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # each worker's basetemp is `popen-gwN` under the run's own folder
    folder = base / "prepared" / name
    folder.parent.mkdir(exist_ok=True)
    with (folder.parent / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this worker dies
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                build(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            (folder / ".built").touch()
    return folder


def require(condition: bool, reason: str) -> None:
    """Skip when a prerequisite is missing on a developer's machine; fail in CI, where everything must run."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    require(SHARED_DATA.is_dir(), f"real data sets not found at {SHARED_DATA} (set DAYBREAK_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised Airflow metadata database (SQLite) for tests that run DAGs."""
    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        check=True,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
    )
    return Path(os.environ["AIRFLOW_HOME"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by Playwright (Playwright's own browser builds cannot be downloaded)."""
    require(
        CHROMIUM.exists(),
        f"{CHROMIUM} is not installed (apt-get install chromium); the browser tests need it",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1400}, device_scale_factor=1)
    page = context.new_page()
    yield page
    context.close()


# one user per role, as the `act_as` fixture's roles file lists them
CAST = {"viewer": "vera", "planner": "pat", "analyst": "ana", "admin": "ada"}


def write_roles_file(path: Path, cast: dict[str, str] = CAST) -> Path:
    """A roles file (`daybreak.core.roles`) giving each user of `cast` (role -> user) their role."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{role}: [{user}]\n" for role, user in cast.items()))
    return path


@pytest.fixture
def act_as(tmp_path_factory, monkeypatch):
    """Point `DAYBREAK_ROLES_FILE` at a file listing `CAST`; calling the result with a role makes that role's
    user the local user (`DAYBREAK_USER`), and returns the user's name."""
    monkeypatch.setenv(
        "DAYBREAK_ROLES_FILE", str(write_roles_file(tmp_path_factory.mktemp("roles") / "roles.yml"))
    )

    def act(role: str) -> str:
        monkeypatch.setenv("DAYBREAK_USER", CAST[role])
        return CAST[role]

    return act
