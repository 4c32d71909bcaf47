"""The dashboards configured as docker-compose.yml runs them (`DAYBREAK_USER_HEADER`, `DAYBREAK_PROXY_SECRET`):
a request that names an admin in `X-Forwarded-User` without the secret nginx adds, as one sent straight to
Streamlit would, names nobody and is refused customer-level data; the same request with the line nginx sends
(`daybreak.platform.deployment.proxy_secret_line`) is that admin."""

from __future__ import annotations

import contextlib
import re
import secrets
import socket
import threading
from collections.abc import Iterator

import pytest
import yaml

from daybreak.core.roles import PermissionDenied
from daybreak.platform.deployment import proxy_secret_line
from tests.conftest import CAST, PROJECT_ROOT

REFUSED = "One customer's history: not for your role"


@pytest.fixture
def as_in_compose(monkeypatch) -> dict[str, str]:
    """The Streamlit service's environment from docker-compose.yml, the secret as `.env` would give it; returns
    the headers nginx adds to a request of the admin it authenticated."""
    environment = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]["streamlit"][
        "environment"
    ]
    secret = secrets.token_urlsafe(32)
    assert environment["DAYBREAK_PROXY_SECRET"].startswith("${DAYBREAK_PROXY_SECRET:?")
    monkeypatch.setenv("DAYBREAK_USER_HEADER", environment["DAYBREAK_USER_HEADER"])
    monkeypatch.setenv("DAYBREAK_PROXY_SECRET", secret)
    name, value = re.fullmatch(r'proxy_set_header (\S+) "(\S+)";\n', proxy_secret_line(secret)).groups()
    return {environment["DAYBREAK_USER_HEADER"]: CAST["admin"], name: value}


def test_a_forged_user_header_without_the_proxys_secret_names_nobody(
    monkeypatch, full_home, app_data, as_in_compose
):
    monkeypatch.setenv("DAYBREAK_HOME", str(full_home))
    identity = app_data.identity
    forged = {"X-Forwarded-User": CAST["admin"]}
    wrong = {**forged, "X-Daybreak-Proxy-Secret": "a guess"}
    for headers in (forged, wrong):
        monkeypatch.setattr(identity, "_request_headers", lambda h=headers: h)
        assert identity.current_user() == identity.User(None, "anonymous", "viewer")
        with pytest.raises(
            PermissionDenied, match="an anonymous user .role viewer. lacks the permission customers"
        ):
            app_data.segments.customer_history("C0001")
    monkeypatch.setattr(identity, "_request_headers", lambda: as_in_compose)
    assert identity.current_user() == identity.User(CAST["admin"], "proxy", "admin")
    assert len(app_data.segments.customer_history("C0001")) == 3


@contextlib.contextmanager
def sending(port: int, headers: dict[str, str]) -> Iterator[str]:
    """A stand-in for whatever reaches the app: forwards each connection to it, setting `headers` on the
    connection's first request (the websocket's handshake too, whose headers Streamlit reads; a browser's own extra
    headers do not reach it). Yields the URL to open."""
    listener = socket.create_server(("127.0.0.1", 0))
    names = {name.lower().encode() for name in headers}

    def pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def forward(client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            if not (chunk := client.recv(65536)):
                client.close()
                return
            head += chunk
        end = head.index(b"\r\n\r\n")
        first, *lines = head[:end].split(b"\r\n")
        kept = [line for line in lines if line.split(b":", 1)[0].strip().lower() not in names]
        added = [f"{name}: {value}".encode() for name, value in headers.items()]
        upstream = socket.create_connection(("127.0.0.1", port))
        upstream.sendall(b"\r\n".join([first, *kept, *added]) + head[end:])
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                threading.Thread(target=forward, args=(listener.accept()[0],), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@pytest.mark.integration
def test_the_running_app_refuses_a_forged_header_and_believes_the_proxy(
    browser, start_app, full_home, as_in_compose
):
    port = int(start_app(full_home).rsplit(":", 1)[1])
    forged = {"X-Forwarded-User": CAST["admin"]}
    for headers, refused in ((forged, True), (as_in_compose, False)):
        context = browser.new_context()
        try:
            with sending(port, headers) as url:
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(f"{url}/segments")
                page.locator("h1").filter(has_text="Segments").wait_for()
                page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
                body = page.locator('[data-testid="stApp"]').inner_text()
                assert (REFUSED in body) is refused, body[:2000]
        finally:
            context.close()
