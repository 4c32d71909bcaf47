"""The demo starts its own Airflow on a port nothing else answers on, and never a second one on the same data home.

No test binds 8080: the decision is given who is listening (`is_free`), and the real probe is tried on a port the
system hands out.
"""

from __future__ import annotations

import socket

import pytest

from daybreak.core.settings import Settings
from daybreak.platform.serving import DemoRefused, choose_api_port, demo_lock, port_is_free


def listening_on(ports: set[int]):
    return lambda host, port: port not in ports


def test_the_default_port_when_it_is_free():
    port, said = choose_api_port({}, is_free=listening_on(set()), free_port=lambda host: 40001)
    assert port == 8080
    assert said == "Airflow will listen on http://127.0.0.1:8080"


def test_another_free_port_when_the_default_is_taken_and_the_line_gives_the_url():
    port, said = choose_api_port({}, is_free=listening_on({8080}), free_port=lambda host: 40001)
    assert port == 40001
    assert (
        said == "port 8080 is taken (another Airflow?): this demo's Airflow listens on http://127.0.0.1:40001"
    )


def test_a_port_the_user_asked_for_is_used_or_refused_in_one_line_never_replaced():
    asked = {"AIRFLOW__API__PORT": "18080", "AIRFLOW__API__HOST": "127.0.0.1"}
    assert choose_api_port(asked, is_free=listening_on({8080}))[0] == 18080
    with pytest.raises(
        DemoRefused, match=r"^port 18080 \(AIRFLOW__API__PORT\) on 127.0.0.1 is taken"
    ) as refused:
        choose_api_port(asked, is_free=listening_on({18080}), free_port=lambda host: 40001)
    assert "\n" not in str(refused.value)


def test_the_probe_sees_a_listening_server():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        taken = server.getsockname()[1]
        assert not port_is_free("127.0.0.1", taken)
    assert port_is_free("127.0.0.1", taken)


def test_a_second_demo_of_the_same_data_home_is_refused(tmp_path):
    settings = Settings(home=tmp_path)
    with demo_lock(settings), pytest.raises(DemoRefused, match="is already running"), demo_lock(settings):
        pass
    with demo_lock(settings):  # released when the first demo ends
        pass
