"""Every DAYBREAK_* variable is declared once, read in one place, and documented on a generated page."""

from __future__ import annotations

import re

import pytest
import yaml

from daybreak.core import environment
from daybreak.core.environment import PROJECT_ROOT, VARIABLES, read

NAME = re.compile(r"DAYBREAK_[A-Z0-9_]*[A-Z0-9]")
# a lookup of a literal name: os.environ.get("X"), os.getenv("X"), env.get("X"), os.environ["X"] (not an assignment)
DIRECT_READ = re.compile(
    r"""(?:\.get|getenv)\(\s*["'](DAYBREAK_[A-Z0-9_]+)["']|environ\[\s*["'](DAYBREAK_[A-Z0-9_]+)["']\s*\](?!\s*=[^=])"""
)


def _code() -> dict[str, str]:
    """The text of the code that may mention a variable: the library (with its dataset configs), the jobs, the DAGs,
    the apps and dbt's project files."""
    paths = [
        *PROJECT_ROOT.glob("include/**/*.py"),
        *PROJECT_ROOT.glob("include/**/*.yml"),
        *PROJECT_ROOT.glob("jobs/**/*.py"),
        *PROJECT_ROOT.glob("dags/**/*.py"),
        *PROJECT_ROOT.glob("apps/**/*.py"),
        *PROJECT_ROOT.glob("dbt_project/*.yml"),
    ]
    return {str(path.relative_to(PROJECT_ROOT)): path.read_text(encoding="utf-8") for path in sorted(paths)}


def test_the_reference_page_is_generated_from_the_declarations():
    assert environment.PAGE.read_text(encoding="utf-8") == environment.render(), (
        "docs/environment-reference.md is out of date: run .venv/bin/python -m daybreak.core.environment"
    )
    for name, variable in VARIABLES.items():
        assert f"`{name}`" in environment.render() and variable.group in environment.GROUPS


def test_the_reference_command_checks_the_committed_page(monkeypatch, tmp_path):
    assert environment.main(["--check"]) == 0
    monkeypatch.setattr(environment, "PAGE", tmp_path / "environment-reference.md")
    assert environment.main(["--check"]) == 1
    assert environment.main([]) == 0 and environment.main(["--check"]) == 0


def test_code_mentions_only_declared_variables():
    undeclared = {
        f"{path}: {name}"
        for path, text in _code().items()
        for name in NAME.findall(text)
        if name not in VARIABLES
    }
    assert not undeclared, f"declare these in daybreak.core.environment.VARIABLES: {sorted(undeclared)}"


def test_only_the_environment_module_reads_a_variable():
    readers = {
        f"{path}: {next(filter(None, match))}"
        for path, text in _code().items()
        if path != "include/daybreak/core/environment.py"
        for match in DIRECT_READ.findall(text)
    }
    assert not readers, f"read these through daybreak.core.environment.read: {sorted(readers)}"


def test_every_declared_variable_is_used():
    texts = [text for path, text in _code().items() if path != "include/daybreak/core/environment.py"]
    texts += [
        p.read_text(encoding="utf-8")
        for p in PROJECT_ROOT.glob("tests/**/*.py")
        if p.name != "test_environment.py"
    ]
    unused = [name for name in VARIABLES if not any(name in text for text in texts)]
    assert not unused, f"declared but mentioned nowhere: {unused}"


def test_a_shipped_dataset_names_only_declared_variables():
    for path in (PROJECT_ROOT / "include" / "daybreak" / "datasets").glob("*.yml"):
        variable = (yaml.safe_load(path.read_text()).get("source") or {}).get("path_env")
        assert variable is None or variable in VARIABLES, path.name


def test_read_gives_the_value_else_the_declared_default(monkeypatch):
    monkeypatch.setenv("DAYBREAK_SMTP_PORT", "2525")
    assert read("DAYBREAK_SMTP_PORT") == "2525"
    monkeypatch.setenv("DAYBREAK_SMTP_PORT", "")
    assert read("DAYBREAK_SMTP_PORT") == "25"
    assert read("DAYBREAK_SMTP_PORT", {}) == "25"
    assert read("DAYBREAK_ALERT_EMAIL", {}) is None


def test_an_undeclared_variable_is_refused():
    with pytest.raises(KeyError, match="DAYBREAK_NOWHERE is not declared"):
        read("DAYBREAK_NOWHERE")
