"""The production deployment, checked statically (there is no Docker engine here): docker-compose.yml's services,
volumes and health checks, every variable documented in .env.example, no default credentials, localhost ports;
the Dockerfile built from the lock; and the init step's secret checks and private credential files."""

from __future__ import annotations

import base64
import hashlib
import re
import stat

import pytest
import yaml

from daybreak.platform.deployment import MissingSecretError, check_environment, ssha_entry, write_private
from tests.conftest import PROJECT_ROOT

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
COMPOSE_TEXT = (PROJECT_ROOT / "docker-compose.yml").read_text()
ENV_EXAMPLE = dict(
    line.split("=", 1)
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
    if line and not line.startswith("#")
)
VARIABLE = re.compile(r"\$\{(\w+)(:?[-?])?([^}]*)\}")
AIRFLOW_SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")


def test_every_service_is_there():
    assert set(COMPOSE["services"]) == {
        "postgres", "airflow-init", *AIRFLOW_SERVICES, "streamlit", "dashboards",
    }  # fmt: skip
    assert COMPOSE["services"]["airflow-init"]["command"] == ["daybreak", "airflow-init"]
    for name in AIRFLOW_SERVICES:
        assert COMPOSE["services"][name]["command"][:2] == ["airflow", name]


def test_long_running_services_have_health_checks_and_wait_for_init():
    for name, service in COMPOSE["services"].items():
        if name == "airflow-init":
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in (*AIRFLOW_SERVICES, "streamlit"):
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name


def test_the_data_home_and_the_database_are_volumes():
    assert set(COMPOSE["volumes"]) == {"daybreak-data", "postgres-data"}
    for name in ("airflow-init", *AIRFLOW_SERVICES, "streamlit", "dashboards"):
        mounts = COMPOSE["services"][name]["volumes"]
        assert any(mount.startswith("daybreak-data:/data") for mount in mounts), name


def test_every_variable_is_documented_and_no_secret_has_a_default():
    used = {match[0]: match for match in VARIABLE.findall(COMPOSE_TEXT)}
    assert used, "no variables found"
    assert set(used) == set(ENV_EXAMPLE), "docker-compose.yml and .env.example name different variables"
    for name, (_, operator, _) in used.items():
        if re.search("PASSWORD|SECRET|KEY", name):
            assert operator == ":?", f"{name} must be required (${{{name}:?message}}), never defaulted"
            assert ENV_EXAMPLE[name] == "", f".env.example must not carry a value for {name}"
    assert "admin:admin" not in ENV_EXAMPLE.values()


def test_ports_are_published_on_localhost_unless_told_otherwise():
    for name, service in COMPOSE["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("${BIND_ADDRESS:-127.0.0.1}:"), f"{name} publishes {port}"
    assert ENV_EXAMPLE["BIND_ADDRESS"] == "127.0.0.1"
    assert "ports" not in COMPOSE["services"]["streamlit"], "Streamlit is reached only through the auth proxy"


def test_the_image_is_built_from_the_lock_file():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "COPY pyproject.toml uv.lock" in dockerfile
    assert dockerfile.count("uv sync --frozen") == 2
    assert "USER daybreak" in dockerfile


def test_the_image_has_the_java_spark_needs_and_compose_passes_the_engine():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim-bookworm" in dockerfile  # the Debian release with OpenJDK 17
    assert "apt-get install -y --no-install-recommends openjdk-17-jre-headless" in dockerfile
    assert "ENV JAVA_HOME=/usr/lib/jvm/java-17" in dockerfile
    environment = COMPOSE["x-daybreak"]["environment"]
    assert environment["DAYBREAK_ENGINE"] == "${DAYBREAK_ENGINE:-duckdb}"
    assert environment["DAYBREAK_SPARK_MASTER"] == "${DAYBREAK_SPARK_MASTER:-local[2]}"


def test_the_image_has_the_compiler_pytensor_needs_for_the_customer_value_fit():
    """Without g++ PyTensor falls back to Python: a 100,000-customer fit takes minutes instead of seconds."""
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    install = next(line for line in dockerfile.splitlines() if "apt-get install" in line)
    assert " g++" in install


def test_a_missing_secret_stops_startup_naming_it():
    with pytest.raises(MissingSecretError, match="AIRFLOW_ADMIN_PASSWORD.*DASHBOARD_PASSWORD"):
        check_environment({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://x"})


def test_credential_files_are_private_and_nginx_can_check_the_password(tmp_path):
    path = tmp_path / "secrets/file"
    write_private(path, "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    user, value = ssha_entry("dashboards", "correct horse", salt=b"12345678").strip().split(":", 1)
    raw = base64.b64decode(value.removeprefix("{SSHA}"))
    assert user == "dashboards" and raw[:20] == hashlib.sha1(b"correct horse" + raw[20:]).digest()


def test_the_dashboards_know_who_signed_in_and_the_roles_come_from_one_read_only_file():
    nginx = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
    # nginx replaces whatever the client sent with the user it authenticated
    assert "proxy_set_header X-Forwarded-User $remote_user;" in nginx
    streamlit = COMPOSE["services"]["streamlit"]
    assert streamlit["environment"]["DAYBREAK_USER_HEADER"] == "X-Forwarded-User"
    assert "ports" not in streamlit, "reachable only through nginx, or anyone could send the header"
    for name in ("airflow-init", *AIRFLOW_SERVICES, "streamlit"):
        service = COMPOSE["services"][name]
        assert service["environment"]["DAYBREAK_ROLES_FILE"] == "/etc/daybreak/roles.yml", name
        assert "${ROLES_FILE:-./deploy/roles.yml}:/etc/daybreak/roles.yml:ro" in service["volumes"], name


def test_the_shipped_roles_file_grants_nothing_beyond_the_aggregates():
    from daybreak.core.roles import Role, assignments

    assert set(assignments(PROJECT_ROOT / "deploy" / "roles.yml").values()) == {Role.VIEWER}


def test_only_the_proxy_can_reach_streamlit_and_it_proves_itself_with_a_secret():
    # Streamlit is on one network, internal, which only nginx shares with it
    assert COMPOSE["networks"]["dashboards-backend"]["internal"] is True
    assert COMPOSE["services"]["streamlit"]["networks"] == ["dashboards-backend"]
    on_it = {name for name, s in COMPOSE["services"].items() if "dashboards-backend" in s.get("networks", [])}
    assert on_it == {"streamlit", "dashboards"}
    # nginx adds the secret from the file airflow-init writes; Streamlit reads it from the environment (.env)
    nginx = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
    init = COMPOSE["services"]["airflow-init"]["environment"]
    assert f"include {init['DASHBOARD_PROXY_FILE']};" in nginx
    required = "${DAYBREAK_PROXY_SECRET:?set DAYBREAK_PROXY_SECRET in .env (see .env.example)}"
    assert init["DAYBREAK_PROXY_SECRET"] == required
    assert COMPOSE["services"]["streamlit"]["environment"]["DAYBREAK_PROXY_SECRET"] == required
    assert "DAYBREAK_PROXY_SECRET" not in COMPOSE["x-daybreak"]["environment"], (
        "Airflow's services need not know it"
    )


def test_the_proxy_secret_is_checked_and_written_as_one_nginx_line(tmp_path):
    from daybreak.platform.deployment import REQUIRED, proxy_secret_line

    env = {name: "x" for name in REQUIRED} | {"DAYBREAK_PROXY_SECRET": "short"}
    with pytest.raises(MissingSecretError, match="DAYBREAK_PROXY_SECRET must be at least 32"):
        check_environment(env)
    with pytest.raises(MissingSecretError, match="DAYBREAK_PROXY_SECRET must be"):
        check_environment(env | {"DAYBREAK_PROXY_SECRET": "a" * 40 + '"; proxy_pass http://evil'})
    check_environment(env | {"DAYBREAK_PROXY_SECRET": "A-b_" * 10})
    assert proxy_secret_line("A-b_" * 10) == f'proxy_set_header X-Daybreak-Proxy-Secret "{"A-b_" * 10}";\n'


def test_init_writes_the_proxy_secret_line_nginx_includes_owner_readable_only(tmp_path, monkeypatch):
    from daybreak.platform import deployment

    monkeypatch.setattr(deployment, "prepare_metadata", lambda env: None)
    secret = "s3cret-" + "x" * 30
    env = {name: "x" for name in deployment.REQUIRED} | {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "secrets/airflow-passwords.json"),
        "DASHBOARD_HTPASSWD_FILE": str(tmp_path / "secrets/dashboards.htpasswd"),
        "DASHBOARD_PROXY_FILE": str(tmp_path / "secrets/dashboards-proxy.conf"),
        "DAYBREAK_PROXY_SECRET": secret,
    }
    written = deployment.init_deployment(env)
    proxy = tmp_path / "secrets/dashboards-proxy.conf"
    assert written["dashboard_proxy"] == str(proxy)
    assert proxy.read_text() == f'proxy_set_header X-Daybreak-Proxy-Secret "{secret}";\n'
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "secrets").iterdir()} == {0o600}
