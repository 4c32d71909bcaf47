"""Run Airflow (its UI and the components that run the nights) and the Streamlit dashboards for the demo, each in its
own process group.

Both bind to 127.0.0.1 unless `AIRFLOW__API__HOST` / `DAYBREAK_STREAMLIT_ADDRESS` say otherwise: the demo is for
this machine, and its Airflow has a generated admin password only. Airflow's components are started as
`airflow standalone` starts them, but without their log servers (`AIRFLOW_COMPONENTS`), in one new process group
that `stop` signals whole.

The demo talks only to the Airflow it started. Before starting, `choose_api_port` decides its port: the default
8080 when free, else a free port (printed with the URL); a port the environment asked for (`AIRFLOW__API__PORT`) is
used as given or refused when taken. `demo_lock` refuses a second demo on the same data home, whose Airflow would
share the first one's metadata database.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from daybreak.core.environment import VARIABLES, read
from daybreak.core.failures import PermanentError
from daybreak.core.settings import PROJECT_ROOT, Settings
from daybreak.platform.airflow_env import airflow_bin, generated_password

STREAMLIT_PORT = 8501


def wait_for(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - localhost health check
                return True
        except OSError:
            time.sleep(1)
    return False


class DemoRefused(PermanentError, RuntimeError):
    """The demo cannot start its own Airflow here: its port is taken, or a demo of this data home is running."""

    remedy = "stop the other server or demo, or set AIRFLOW__API__PORT to a free port"


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on `host`:`port` (binding it succeeds; the socket is closed at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def any_free_port(host: str) -> int:
    """A port the system has free on `host` now (it picks one for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def choose_api_port(env: dict[str, str], *, is_free=port_is_free, free_port=any_free_port) -> tuple[int, str]:
    """The port the demo's Airflow api-server listens on, and a line saying why.

    The default port when it is free, else a free one; a port `env` names in `AIRFLOW__API__PORT` exactly
    (the user asked for it), or a refusal when it is taken: never a port another server answers on.

    Raises:
        DemoRefused: `AIRFLOW__API__PORT` names a port something already listens on.
    """
    host = env.get("AIRFLOW__API__HOST", "127.0.0.1")
    if requested := env.get("AIRFLOW__API__PORT"):
        if not is_free(host, int(requested)):
            raise DemoRefused(
                f"port {requested} (AIRFLOW__API__PORT) on {host} is taken by another server; the demo talks only "
                "to the Airflow it starts: stop that server or set AIRFLOW__API__PORT to a free port"
            )
        return int(requested), f"Airflow will listen on http://{host}:{requested}"
    default = int(VARIABLES["AIRFLOW__API__PORT"].default)
    if is_free(host, default):
        return default, f"Airflow will listen on http://{host}:{default}"
    port = free_port(host)
    return (
        port,
        f"port {default} is taken (another Airflow?): this demo's Airflow listens on http://{host}:{port}",
    )


@contextlib.contextmanager
def demo_lock(settings: Settings):
    """Hold the data home's demo lock while the demo runs (the system releases it when the process ends).

    Raises:
        DemoRefused: another demo of this data home holds it.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    with (settings.home / "demo.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DemoRefused(
                f"a demo of data home {settings.home} is already running (its Airflow and dashboards are up): "
                "use it, or stop it (Ctrl-C in its terminal) first"
            ) from None
        yield


def airflow_url(env: dict[str, str]) -> str:
    return f"http://{env['AIRFLOW__API__HOST']}:{env['AIRFLOW__API__PORT']}"


AIRFLOW_COMPONENTS = (
    ("scheduler", "--skip-serve-logs"),
    ("triggerer", "--skip-serve-logs"),
    ("dag-processor",),
    ("api-server",),
)
"""What `airflow standalone` runs, less the scheduler's and the triggerer's log servers: they listen on every
interface (ports 8793 and 8794; no Airflow setting names their address) so that an api-server on another machine
can fetch a task's log, while here every component writes and reads the one log folder."""
AIRFLOW_LOG = "airflow.log"


def start_airflow(settings: Settings, env: dict[str, str]) -> subprocess.Popen:
    """Airflow's components (`AIRFLOW_COMPONENTS`) in one new process group, led by the first, whose process is
    returned; their output goes to `DAYBREAK_HOME/logs/airflow.log`."""
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    output = (logs / AIRFLOW_LOG).open("a")
    leader, *others = AIRFLOW_COMPONENTS
    # a new group in this session (a new session would keep the others out of it): Ctrl-C in the terminal
    # reaches the foreground group, the demo's, which stops this one with `stop`
    process = subprocess.Popen(
        [airflow_bin(), *leader], env=env, process_group=0, stdout=output, stderr=subprocess.STDOUT
    )
    for command in others:
        subprocess.Popen(
            [airflow_bin(), *command],
            env=env,
            process_group=process.pid,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process


def wait_for_password(settings: Settings, process: subprocess.Popen, seconds: float = 180) -> str:
    """The admin password the api-server generates on its first start (file mode 0600)."""
    deadline = time.monotonic() + seconds
    while (password := generated_password(settings)) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Airflow wrote no admin password: see {settings.home / 'logs' / AIRFLOW_LOG}")
        time.sleep(1)
    return password


def start_streamlit(settings: Settings, env: dict[str, str], port: int = STREAMLIT_PORT) -> subprocess.Popen:
    """The dashboards (`streamlit run`) on `port`, in their own process group."""
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("streamlit")),
            "run",
            str(PROJECT_ROOT / "apps/streamlit/app.py"),
            "--server.headless",
            "true",
            "--server.address",
            read("DAYBREAK_STREAMLIT_ADDRESS", env),
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        start_new_session=True,
        stdout=(logs / "streamlit.log").open("a"),
        stderr=subprocess.STDOUT,
    )


def stop(processes: list[subprocess.Popen]) -> None:
    """TERM each process's group (its leader may be gone, the group's other members not), wait up to 30 s for
    them, reaping the ones this process started, then KILL what is left, and return once the group is gone.

    The last wait is for processes this one cannot reap: the scheduler's forkserver starts the executor's workers
    (`daybreak.platform.task_imports`), and a worker that outlives the forkserver by a moment is reaped by PID 1."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for process in processes:
        while _reap_one(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        while _reap_one(process.pid, block=True):
            pass
        process.poll()
        gone_by = time.monotonic() + GONE_SECONDS
        while _group_alive(process.pid) and time.monotonic() < gone_by:
            time.sleep(0.1)


GONE_SECONDS = 10
"""How long `stop` waits, after its KILL, for the group's processes another process reaps."""


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member of another user: alive
        return True
    return True


def _reap_one(group: int, *, block: bool = False) -> bool:
    """Collect one exited child of this process in `group`; whether any child in it is left to wait for."""
    try:
        os.waitpid(-group, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return False
    return True


def serve_forever(settings: Settings, env: dict[str, str], airflow: subprocess.Popen, password: str) -> int:
    """Add the Streamlit app to the running Airflow and keep both up until interrupted."""
    processes = [airflow, start_streamlit(settings, env)]

    def interrupted(*_):
        stop(processes)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    address = read("DAYBREAK_STREAMLIT_ADDRESS", env)
    streamlit_up = wait_for(f"http://{address}:{STREAMLIT_PORT}/_stcore/health", 60)
    print()
    print(f"Airflow UI:    {airflow_url(env)}   user admin, password {password}")
    print(
        f"Dashboards:    http://{address}:{STREAMLIT_PORT}"
        + ("" if streamlit_up else f"   (not answering yet: see {settings.home / 'logs/streamlit.log'})")
    )
    print("Press Ctrl-C to stop both.", flush=True)
    while all(process.poll() is None for process in processes):
        time.sleep(2)
    stop(processes)
    return 1
