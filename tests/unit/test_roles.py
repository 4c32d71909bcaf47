"""Roles: what each grants, the least privilege by default, and a roles file refused when it is ambiguous."""

from __future__ import annotations

import pytest

from daybreak.core.roles import (
    GRANTS,
    Permission,
    PermissionDenied,
    Role,
    RolesFileError,
    allows,
    assignments,
    grant_single_user,
    local_user,
    require,
    role_of,
)
from daybreak.core.settings import Settings, get_settings

EXPECTED = {
    Role.VIEWER: set(),
    Role.PLANNER: {Permission.OVERRIDES},
    Role.ANALYST: {Permission.CUSTOMERS},
    Role.ADMIN: set(Permission),
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_grants_exactly_its_permissions(role):
    assert {permission for permission in Permission if allows(role, permission)} == EXPECTED[role]
    for permission in Permission:
        if permission in EXPECTED[role]:
            require(role, permission)
        else:
            with pytest.raises(PermissionDenied) as refused:
                require(role, permission, "someone")
            assert (refused.value.role, refused.value.permission) == (role, permission)


def test_a_refusal_names_the_user_the_role_the_permission_and_who_has_it():
    with pytest.raises(PermissionDenied) as refused:
        require(Role.PLANNER, Permission.CUSTOMERS, "pat")
    message = str(refused.value)
    assert message.startswith("pat (role planner) lacks the permission customers (see customer-level data")
    assert message.endswith("roles with it: analyst, admin")


def test_every_permission_has_a_description_and_admin_has_them_all():
    assert all(permission.description for permission in Permission)
    assert GRANTS[Role.ADMIN] == frozenset(Permission)


def test_the_file_gives_each_listed_user_their_role(tmp_path):
    path = tmp_path / "roles.yml"
    path.write_text("admin: [ops@example.com]\nanalyst: [ana, dashboards]\nplanner: [pat]\nviewer: [vic]\n")

    assert role_of("ops@example.com", path) is Role.ADMIN
    assert role_of("dashboards", path) is Role.ANALYST
    assert role_of("pat", path) is Role.PLANNER
    assert role_of("vic", path) is Role.VIEWER
    assert assignments(path)["ana"] is Role.ANALYST


@pytest.mark.parametrize("user", [None, "", "stranger", "ADMIN", "Ana"])
def test_an_unknown_or_anonymous_user_is_a_viewer_never_more(tmp_path, user):
    path = tmp_path / "roles.yml"
    path.write_text("admin: [admin]\nanalyst: [ana]\n")

    assert role_of(user, path) is Role.VIEWER


def test_without_a_roles_file_everyone_is_a_viewer(tmp_path):
    assert role_of("root", tmp_path / "absent.yml") is Role.VIEWER
    assert assignments(tmp_path / "absent.yml") == {}


def test_an_edited_file_applies_at_once(tmp_path):
    path = tmp_path / "roles.yml"
    path.write_text("analyst: [ana]\n")
    assert role_of("ana", path) is Role.ANALYST

    path.write_text("viewer: [ana]\n# demoted\n")

    assert role_of("ana", path) is Role.VIEWER


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("superuser: [eve]\n", "superuser: Extra inputs are not permitted"),
        ("analyst: ana\n", "analyst: Input should be a valid list"),
        ("analyst: [ana]\nadmin: [ana]\n", "'ana' is listed under both analyst and admin"),
        ("admin: ['  ']\n", "an empty user name under admin"),
        ("admin: [unclosed\n", "cannot be read"),
    ],
)
def test_an_ambiguous_file_is_refused_with_the_reason(tmp_path, text, reason):
    path = tmp_path / "roles.yml"
    path.write_text(text)

    with pytest.raises(RolesFileError, match="roles file .*roles.yml") as refused:
        role_of("ana", path)
    assert reason in str(refused.value)


def test_the_roles_file_and_the_local_user_come_from_the_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path))
    for name in ("DAYBREAK_ROLES_FILE", "DAYBREAK_USER", "DAYBREAK_USER_HEADER"):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    assert settings.roles_path == tmp_path / "roles.yml"
    assert local_user(settings)  # the operating-system user
    assert settings.user_header is None

    monkeypatch.setenv("DAYBREAK_ROLES_FILE", str(tmp_path / "etc" / "roles.yml"))
    monkeypatch.setenv("DAYBREAK_USER", "ana")
    monkeypatch.setenv("DAYBREAK_USER_HEADER", "X-Forwarded-User")
    settings = get_settings()
    assert settings.roles_path == tmp_path / "etc" / "roles.yml"
    assert local_user(settings) == "ana"
    assert settings.user_header == "X-Forwarded-User"
    assert local_user(Settings(home=tmp_path, user="pat")) == "pat"


def test_the_demo_makes_its_single_local_user_an_admin_only_without_a_roles_file(tmp_path):
    settings = Settings(home=tmp_path, user="demo user")

    assert grant_single_user(settings) == ("demo user", Role.ADMIN)
    assert role_of("demo user", settings.roles_path) is Role.ADMIN
    assert assignments(settings.roles_path) == {"demo user": Role.ADMIN}

    settings.roles_path.write_text("analyst: [demo user]\n")  # a configured installation keeps its roles
    assert grant_single_user(settings) == ("demo user", Role.ANALYST)
    assert settings.roles_path.read_text() == "analyst: [demo user]\n"
