"""dbt run in this process through its programmatic entry point, or as a subprocess where it must be.

A subprocess pays for a second interpreter and dbt's imports (about 2.3 s on this machine) before the first node,
and every night of an in-process backfill (`daybreak night` over a range, the history load, the test suite) paid
them again; `dbtRunner` pays them once per process. Measured on the demo's night: the transform step 7.3 s with
dbt as a subprocess against 4.6 to 5.0 s from the second in-process night on (`docs/benchmarks.md`).

What a subprocess gave for free is done here instead:
* dbt reads `env_var()` from `os.environ`: the invocation's environment is set for its duration and restored;
* dbt-duckdb keeps its database open after an invocation (its `keep_open`, on by default), which would hold the
  warehouse's lock against the next job's process: every DuckDB connection dbt made is closed when it returns;
* dbt's state is global, so one invocation runs at a time in a process.
dbt-spark's session method starts a JVM inside dbt's process, so on Spark dbt stays a subprocess (`run_subprocess`).
"""

from __future__ import annotations

import gc
import os
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

from daybreak.core.files import write_atomic

_ONE_AT_A_TIME = threading.Lock()
_CONSOLE_LEVELS = ("info", "warn", "error")  # what dbt prints to its console, and so what the task log shows


def run_in_process(
    command: list[str], env: dict[str, str], *, results_only: bool = False
) -> tuple[bool, str]:
    """`command` (dbt's executable and arguments) in this process with `env` as its environment: whether it
    succeeded, and its console lines.

    Args:
        results_only: of dbt's JSON artefacts write only `run_results.json` (into the command's `--target-path`),
            not `manifest.json`, which dbt serialises twice per invocation (1.1 s on the demo's night) and which
            a night's build has no reader for (dbt's partial parsing keeps its own file).
    """
    from dbt.cli.main import dbtRunner  # dbt's imports cost seconds: only a job that runs dbt pays them

    lines: list[str] = []

    def keep(event) -> None:
        if event.info.level in _CONSOLE_LEVELS:
            lines.append(event.info.msg)

    # --quiet: the lines reach the caller through `keep`, not this process's stdout
    args = [*command[1:], "--quiet", *(["--no-write-json"] if results_only else [])]
    with _ONE_AT_A_TIME, _environment(env):
        # what the process held before dbt ran is not dbt's database: the collection that closes it skips all that
        gc.freeze()
        try:
            result = dbtRunner(callbacks=[keep]).invoke(args)
        finally:
            _close_duckdb()
            gc.unfreeze()
    if results_only and hasattr(result.result, "write"):  # a RunExecutionResult: dbt's own writer, atomically
        target = Path(command[command.index("--target-path") + 1]) / "run_results.json"
        write_atomic(target, lambda staging: result.result.write(str(staging)))
    if result.exception is not None:
        lines.append(f"{type(result.exception).__name__}: {result.exception}")
    return result.success, "\n".join(lines)


def run_subprocess(command: list[str], env: dict[str, str]) -> tuple[bool, str]:
    """`command` (dbt's executable and arguments) as a subprocess: whether it succeeded, and its output."""
    process = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return process.returncode == 0, process.stdout + process.stderr


@contextmanager
def _environment(env: dict[str, str]):
    changed = {key: os.environ.get(key) for key, value in env.items() if os.environ.get(key) != value}
    os.environ.update({key: env[key] for key in changed})
    try:
        yield
    finally:
        for key, before in changed.items():
            if before is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = before


def _close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open between invocations, releasing the file's lock."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed: nothing of it is open
        return
    DuckDBConnectionManager.close_all_connections()
    gc.collect()  # the dropped environment closes its database when it is collected: now, not some time later
