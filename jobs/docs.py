"""`daybreak docs`: dbt's documentation site for the marts (every model, column, test and source, and the lineage
graph), generated and, with `--serve`, served.

`dbt docs generate` writes into its own target folder (`Settings.dbt_docs_dir`), never the nights' one, so the
night's `run_results.json` keeps reporting the night's tests on the Pipeline page. The site is a static folder, so
`--serve` serves it with the standard library's HTTP server instead of `dbt docs serve`, which would need dbt's
profile and the warehouse's path again and resolves a relative target path inside the dbt project: it binds a free
port unless given one, prints the address, and records it in `Settings.dbt_docs_served_path` while it runs, for the
Pipeline page's link. The site is compiled for the newest night the serving copy holds unless `--date` says which.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.server
import json
import logging
import signal
from typing import TYPE_CHECKING

from daybreak.core.files import write_json
from daybreak.datasets import load_dataset_config
from daybreak.nights import spark
from daybreak.nights.overrides import latest_night
from jobs.transform import dbt_vars, invoke_dbt

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path

    from daybreak.core.settings import Settings

log = logging.getLogger(__name__)


def generate_docs(business_date: dt.date, settings: Settings) -> Path:
    """`dbt docs generate` against the warehouse, compiled for `business_date`; the site's index.html."""
    config = load_dataset_config(settings.dataset)
    variables = {**dbt_vars(config), **spark.dbt_vars(settings)}
    args = ["docs", "generate", "--vars", json.dumps(variables)]
    invoke_dbt(settings, args, business_date, target_dir=settings.dbt_docs_dir)
    return settings.dbt_docs_dir / "index.html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """The site's files, without a log line per request (the terminal shows the address and nothing else)."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class names it so
        log.debug(format, *args)


def serve(
    settings: Settings, host: str = "127.0.0.1", port: int = 0, *, on_ready: Callable | None = None
) -> None:
    """Serve the generated site until the server is shut down; port 0 takes a free one. While it serves, its
    address is recorded in `settings.dbt_docs_served_path` (the Pipeline page's link), and removed after.

    `on_ready(url, server)` is called once the server listens: the command prints the address there.
    """
    handler = functools.partial(_QuietHandler, directory=str(settings.dbt_docs_dir))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    url = f"http://{host}:{server.server_address[1]}/"
    record = settings.dbt_docs_served_path
    try:
        write_json(record, {"url": url})
        if on_ready:
            on_ready(url, server)
        server.serve_forever()
    finally:
        record.unlink(missing_ok=True)
        server.server_close()


def run_command(args: argparse.Namespace, settings: Settings) -> dict | None:
    """`daybreak docs [--date D] [--serve [--port N]]`: generate, then serve when asked, until Ctrl-C or SIGTERM
    (None once stopped)."""
    business_date = args.date or latest_night(settings)
    if business_date is None:
        raise SystemExit(
            f"daybreak docs: no night is published in {settings.home} yet: run `make demo SERVE=0` first, "
            "or give --date"
        )
    index = generate_docs(business_date, settings)
    if not args.serve:
        return {"index": str(index), "serve": "daybreak docs --serve"}

    def ready(url: str, _server) -> None:
        print(f"dbt docs for {settings.dataset_name}, compiled for {business_date}: {url}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)

    def stopped(*_) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stopped)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM: the server has tidied up
        serve(settings, port=args.port, on_ready=ready)
    return None
