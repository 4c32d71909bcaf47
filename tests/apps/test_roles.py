"""Each role in the dashboards (`daybreak.core.roles`): which pages its navigation lists, which customer-level sections
it sees or is told it cannot, whether it may override; and the data access (`data`, `planner_overrides`) refusing a
role's forbidden reads and writes itself, so no page can bypass the check. The roles file lists one user per role
(`tests.conftest.CAST`)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from daybreak.core.roles import PermissionDenied

APP_DIR = Path(__file__).resolve().parents[2] / "apps" / "streamlit"
APP = str(APP_DIR / "app.py")
PAGES = ("overview.py", "forecast.py", "segments.py", "model_health.py", "review.py", "pipeline.py")
# role -> (pages in its navigation, sees customer-level sections)
EXPECTED = {
    "viewer": (set(PAGES) - {"review.py"}, False),
    "planner": (set(PAGES), False),
    "analyst": (set(PAGES) - {"review.py"}, True),
    "admin": (set(PAGES), True),
}
# page -> (the widget key of its customer-level section, what its refusal names)
CUSTOMER_SECTIONS = {
    "segments.py": ("customer", "One customer's history: not for your role"),
    "pipeline.py": ("quarantine_rule", "The quarantined rows (their raw values): not for your role"),
    "model_health.py": (
        "report_night",
        "The nightly Evidently reports (they profile customer ids): not for your role",
    ),
}


def start(monkeypatch: pytest.MonkeyPatch, home: Path) -> AppTest:
    monkeypatch.setenv("DAYBREAK_HOME", str(home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    return app


@pytest.fixture
def menus(monkeypatch: pytest.MonkeyPatch) -> list[list[st.Page]]:
    """The pages each run hands to `st.navigation`, recorded."""
    runs: list[list[st.Page]] = []
    navigate = st.navigation

    def recording(pages, **options):
        runs.append(list(pages))
        return navigate(pages, **options)

    monkeypatch.setattr(st, "navigation", recording)
    return runs


def navigation(menus: list[list[st.Page]]) -> set[str]:
    """The pages the menu of the last run lists (a hidden page is registered, reachable by its URL, not listed)."""
    return {
        Path(str(page._page)).name
        for page in menus[-1]
        if page.visibility == "visible" and isinstance(page._page, Path)
    }


def infos(app: AppTest) -> str:
    return "\n".join(str(element.value) for element in app.info)


def has_widget(app: AppTest, key: str) -> bool:
    return any(getattr(element, "key", None) == key for element in app.get("selectbox"))


@pytest.mark.parametrize("role", EXPECTED)
def test_each_role_sees_its_pages_and_its_sections(monkeypatch, full_home, act_as, menus, role):
    user = act_as(role)
    pages, sees_customers = EXPECTED[role]
    app = start(monkeypatch, full_home)

    assert not app.exception
    assert navigation(menus) == pages
    for page in PAGES:  # every page is registered for every role: its URL never says "Page not found"
        app.switch_page(f"app_pages/{page}")
    assert f"Viewing as **{user}**, role **{role}**" in "\n".join(c.value for c in app.sidebar.caption)
    for page, (key, refusal) in CUSTOMER_SECTIONS.items():
        app.switch_page(f"app_pages/{page}").run()
        assert not app.exception, (page, [e.value for e in app.exception])
        assert app.get("vega_lite_chart"), f"{page}: the aggregates are for every role"
        assert has_widget(app, key) is sees_customers, page
        assert (refusal in infos(app)) is not sees_customers, page
        if not sees_customers:
            assert "it needs the permission `customers`" in infos(app)
            assert "**analyst** or **admin** have" in infos(app)


@pytest.mark.parametrize("role", EXPECTED)
def test_customer_value_by_segment_is_for_every_role_and_the_customers_slipping_away_for_analysts_and_admins(
    monkeypatch, full_home, act_as, role
):
    act_as(role)
    _, sees_customers = EXPECTED[role]
    app = start(monkeypatch, full_home)
    app.switch_page("app_pages/segments.py").run()

    assert not app.exception
    tables = [table.value for table in app.dataframe]
    assert tables[0]["segment_name"].tolist() == ["Loyal big spenders", "Occasional buyers", "Lapsed"]
    pseudonyms = [
        value
        for table in tables
        for value in table.astype(str).to_numpy().ravel()
        if re.fullmatch(r"C\d{4}", value)
    ]
    refusal = "The valuable customers slipping away: not for your role"
    if sees_customers:
        assert len(tables) == 2 and tables[1]["customer_id"].tolist() == pseudonyms != []
        assert refusal not in infos(app)
    else:
        assert len(tables) == 1 and pseudonyms == []
        assert refusal in infos(app)
        assert "**analyst** or **admin** have" in infos(app)


@pytest.mark.parametrize("role", ["planner", "admin"])
def test_a_role_that_may_override_records_and_revokes_as_itself(
    monkeypatch, full_home, tmp_path, act_as, role
):
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    user = act_as(role)
    app = start(monkeypatch, home)
    app.switch_page("app_pages/review.py").run()

    app.text_input(key="override_reason").set_value("trade fair")
    app.button[0].click().run()
    assert not app.exception
    assert "The next nightly run applies it" in app.success[0].value
    app.text_input(key="revoke_reason").set_value("cancelled")
    app.button[1].click().run()

    assert not app.exception
    assert "Revoked" in app.success[0].value
    log = (home / "overrides" / "synthetic.jsonl").read_text()
    assert log.count(f'"{user} (local)"') == 2  # the add and the revoke, by this user


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_the_review_page_reached_by_a_role_that_may_not_override_says_so(
    monkeypatch, full_home, act_as, role
):
    act_as(role)
    monkeypatch.setenv("DAYBREAK_HOME", str(full_home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    monkeypatch.syspath_prepend(str(APP_DIR))  # what app.py does for its pages
    page = AppTest.from_file(str(APP_DIR / "app_pages" / "review.py"), default_timeout=60)
    page.run()

    assert not page.exception
    assert "Reviewing and overriding forecasts: not for your role" in infos(page)
    assert "**planner** or **admin** have" in infos(page)
    assert not page.button and not page.get("vega_lite_chart")


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_a_role_that_may_not_override_opening_the_review_url_gets_the_role_message(
    monkeypatch, full_home, act_as, role
):
    act_as(role)
    app = start(monkeypatch, full_home)
    app.switch_page("app_pages/review.py").run()

    assert not app.exception
    assert [title.value for title in app.title] == ["Review forecasts"]
    assert "Reviewing and overriding forecasts: not for your role" in infos(app)
    assert not app.main.button and not app.get("vega_lite_chart")


@pytest.mark.parametrize("role", EXPECTED)
def test_data_refuses_customer_rows_and_override_writes_to_roles_without_them(
    monkeypatch, full_home, tmp_path, act_as, app_data, role
):
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    monkeypatch.setenv("DAYBREAK_HOME", str(home))
    monkeypatch.setenv("DAYBREAK_DATASET", "synthetic")
    user = act_as(role)
    _, sees_customers = EXPECTED[role]
    night = dt.date(2024, 6, 30)
    customer_level = {
        "sample_customers": lambda: app_data.segments.sample_customers(night),
        "customer_history": lambda: app_data.segments.customer_history("C0001"),
        "slipping_customers": lambda: app_data.segments.slipping_customers(
            app_data.segments.value_baseline()
        ),
        "quarantine_rows": lambda: app_data.pipeline.quarantine_rows("negative_price"),
        "report_html": lambda: app_data.artefacts.report_html(
            str(home / "reports" / "synthetic" / "drift" / f"{night}.html")
        ),
    }
    for name, read in customer_level.items():
        if sees_customers:
            assert read() is not None and len(read()) > 0, name
        else:
            with pytest.raises(
                PermissionDenied, match=rf"^{user} \(role {role}\) lacks the permission customers"
            ):
                read()

    assert (
        len(app_data.segments.segment_transitions(dt.date(2024, 6, 2), night)) > 0
    )  # aggregates: every role
    request = {
        "series_id": "total",
        "start_date": dt.date(2024, 7, 1),
        "end_date": dt.date(2024, 7, 1),
        "kind": "percent",
        "amount": 5.0,
        "reason": "check",
    }
    if role in ("planner", "admin"):
        record = app_data.overrides.record_override(**request)
        assert record["author"] == f"{user} (local)"
        app_data.overrides.revoke_override(record["override_id"], "check done")
    else:
        with pytest.raises(PermissionDenied, match="lacks the permission overrides"):
            app_data.overrides.record_override(**request)
        with pytest.raises(PermissionDenied, match="lacks the permission overrides"):
            app_data.overrides.revoke_override("ov-0123456789ab", "no")
        assert len((home / "overrides" / "synthetic.jsonl").read_text().splitlines()) == 1


def test_behind_the_proxy_the_header_names_the_user_and_without_it_nobody_is_more_than_a_viewer(
    monkeypatch, full_home, app_data
):
    monkeypatch.setenv("DAYBREAK_HOME", str(full_home))
    monkeypatch.setenv("DAYBREAK_USER_HEADER", "X-Forwarded-User")
    # the local user (ada, an admin) no longer counts once the app is behind the proxy
    monkeypatch.setattr(app_data.identity, "_request_headers", lambda: {"X-Forwarded-User": "ana"})
    assert app_data.identity.current_user() == app_data.identity.User("ana", "proxy", "analyst")
    assert len(app_data.segments.customer_history("C0001")) == 3

    monkeypatch.setattr(app_data.identity, "_request_headers", dict)
    assert app_data.identity.current_user() == app_data.identity.User(None, "anonymous", "viewer")
    with pytest.raises(
        PermissionDenied, match="an anonymous user .role viewer. lacks the permission customers"
    ):
        app_data.segments.customer_history("C0001")


def test_a_broken_roles_file_shows_the_reason_and_no_page(monkeypatch, full_home, tmp_path):
    roles_file = tmp_path / "roles.yml"
    roles_file.write_text("admin: [ada]\nsuperuser: [ada]\n")
    monkeypatch.setenv("DAYBREAK_ROLES_FILE", str(roles_file))
    app = start(monkeypatch, full_home)

    assert not app.exception
    assert "The dashboards cannot tell who may see what" in app.error[0].value
    assert "superuser: Extra inputs are not permitted" in app.error[0].value
    assert not app.title and not app.get("vega_lite_chart")
