"""Who may see and do what: the roles, the permissions each grants, and the one file that gives users their role.

Daybreak answers "who can see customer-level data?" here and nowhere else. Every role sees the aggregates (revenue,
forecasts, segment sizes and profiles, model health, the pipeline's counts); the permissions below are what goes
beyond them, and each is checked where the data or the action is, not where a page or command is drawn:

| role | aggregates | customers | overrides | registry | identify | privacy |
|---|---|---|---|---|---|---|
| `viewer` | yes | | | | | |
| `planner` | yes | | yes | | | |
| `analyst` | yes | yes | | | | |
| `admin` | yes | yes | yes | yes | yes | yes |

Planners adjust forecasts without needing to see individual customers, and analysts study customers without
changing what the business plans with, so neither role contains the other. Changing which model scores every night
(the registry), looking a pseudonymised customer up in the link store and handling privacy requests act on
everyone at once or undo the pseudonymisation, so they stay with `admin`.

The mapping from users to roles is one YAML file, `Settings.roles_path` (`DAYBREAK_ROLES_FILE`, default
`roles.yml` in the data home), listing the users of each role:

    admin: [ops@example.com]
    analyst: [ana@example.com, dashboards]
    planner: [pat@example.com]

It is read lazily and again whenever it changes (its modification time and size key the cache), so an edit
applies to the next page view or command without a restart. The default is the least privilege: a user the file
does not list, an anonymous request, or a data home without the file is a `viewer`; nothing ever defaults to
`admin`. A file that cannot be read as such (an unknown role, a user listed twice) is refused with the reason
rather than guessed at, since a silently ignored line could hide or grant customer data.

This module is pure logic on a path and a name; who the user is comes from the caller: the dashboards' signed-in
or proxy-authenticated user (`apps/streamlit/identity.py`), the command line's `local_user`.
"""

from __future__ import annotations

import enum
import functools
import getpass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from daybreak.core.files import write_text_atomic

if TYPE_CHECKING:
    from daybreak.core.settings import Settings


class Role(enum.StrEnum):
    """A role, from the least to the most privileged."""

    VIEWER = "viewer"
    PLANNER = "planner"
    ANALYST = "analyst"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    """What a role may do beyond seeing the aggregates; the value is the name errors and docs use."""

    CUSTOMERS = "customers"
    OVERRIDES = "overrides"
    REGISTRY = "registry"
    IDENTIFY = "identify"
    PRIVACY = "privacy"

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]


DESCRIPTIONS = {
    Permission.CUSTOMERS: "see customer-level data: customer ids, one customer's segments, quarantined raw rows",
    Permission.OVERRIDES: "record and revoke forecast overrides",
    Permission.REGISTRY: "change the model registry: promote, roll back",
    Permission.IDENTIFY: "look a customer's source identifier up in the link store",
    Permission.PRIVACY: "record and handle privacy requests such as erasure",
}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset(),
    Role.PLANNER: frozenset({Permission.OVERRIDES}),
    Role.ANALYST: frozenset({Permission.CUSTOMERS}),
    Role.ADMIN: frozenset(Permission),
}
LEAST = Role.VIEWER


class RolesFileError(ValueError):
    """The roles file exists but does not say unambiguously who has which role."""


class PermissionDenied(Exception):  # not PermissionError: an OSError, which file-reading code catches
    """A role asked for something its permissions do not include.

    Attributes:
        role: the role that asked.
        permission: what it lacked.
    """

    def __init__(self, role: Role, permission: Permission, user: str | None = None) -> None:
        self.role = role
        self.permission = permission
        who = f"{user} (role {role})" if user else f"role {role}"
        holders = ", ".join(r for r in Role if permission in GRANTS[r])
        super().__init__(
            f"{who} lacks the permission {permission!s} ({permission.description}); roles with it: {holders}"
        )


class _RolesFile(BaseModel):
    """The roles file's shape: one list of user names per role, every key optional, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    viewer: list[str] = Field(default_factory=list)
    planner: list[str] = Field(default_factory=list)
    analyst: list[str] = Field(default_factory=list)
    admin: list[str] = Field(default_factory=list)


# the command line's gated commands: (command, action) -> the permission it needs; action None: every action
COMMAND_PERMISSIONS = {
    ("override", "add"): Permission.OVERRIDES,
    ("override", "revoke"): Permission.OVERRIDES,
    ("models", "promote"): Permission.REGISTRY,
    ("models", "rollback"): Permission.REGISTRY,
    ("privacy", "lookup"): Permission.IDENTIFY,
    ("privacy", "erase"): Permission.PRIVACY,
}


def allows(role: Role, permission: Permission) -> bool:
    """Whether `role` grants `permission`."""
    return permission in GRANTS[role]


def require(role: Role, permission: Permission, user: str | None = None) -> None:
    """Refuse unless `role` grants `permission`.

    Raises:
        PermissionDenied: naming the user (when given), the role and the missing permission.
    """
    if not allows(role, permission):
        raise PermissionDenied(role, permission, user)


def role_of(user: str | None, path: Path) -> Role:
    """The role the roles file at `path` gives `user`: `viewer` for an anonymous or unlisted user, or when the
    file does not exist.

    Raises:
        RolesFileError: the file exists but is not a valid roles file.
    """
    if not user:
        return LEAST
    try:
        stat = path.stat()
    except FileNotFoundError:
        return LEAST
    return _load(path, stat.st_mtime_ns, stat.st_size).get(user, LEAST)


def assignments(path: Path) -> dict[str, Role]:
    """Every user the roles file lists, with their role (empty without the file).

    Raises:
        RolesFileError: the file exists but is not a valid roles file.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    return dict(_load(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int, size: int) -> dict[str, Role]:
    """The file's users and roles, read once per (path, modification time, size): the size too, as file times
    tick coarsely enough for two quick edits to share one."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = _RolesFile.model_validate(raw)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise RolesFileError(f"roles file {path}: cannot be read: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'top level'}: {problem['msg']}"
            for problem in error.errors()
        )
        allowed = ", ".join(Role)
        raise RolesFileError(
            f"roles file {path}: {problems} (the keys are roles: {allowed}; each a list of user names)"
        ) from None
    users: dict[str, Role] = {}
    for role in Role:
        for name in getattr(parsed, role.value):
            user = name.strip()
            if not user:
                raise RolesFileError(f"roles file {path}: an empty user name under {role}")
            if user in users and users[user] != role:
                raise RolesFileError(
                    f"roles file {path}: {user!r} is listed under both {users[user]} and {role}; give one role"
                )
            users[user] = role
    return users


def grant_single_user(settings: Settings, role: Role = Role.ADMIN) -> tuple[str, Role]:
    """Make the local user `role` in the roles file when there is no roles file yet; the local user and their role.

    For the demo (`make demo`): one person on one machine, who should see every page, customers included, and try
    overrides, while the secure default (no file: a viewer) stays what every other installation starts from. An
    existing roles file is never touched, so a configured installation keeps its roles.

    Raises:
        RolesFileError: the existing roles file is not valid.
    """

    user = local_user(settings)
    path = settings.roles_path
    if not path.exists():
        write_text_atomic(
            path,
            "# written by `make demo` for its single local user; docs/privacy.md explains the roles\n"
            + yaml.safe_dump({str(role): [user]}),
        )
    return user, role_of(user, path)


def local_user(settings: Settings) -> str:
    """Who the command line (and a local single-user app) acts as: `DAYBREAK_USER`, else the operating-system
    user. Anyone with a shell can set either, so for the command line the roles are a guard against mistakes and
    an audit of intent; what keeps a shell user from the data is the data home's file permissions (docs/privacy.md).
    """
    return settings.user or getpass.getuser()


def authorize_command(command: str, action: str | None, settings: Settings) -> None:
    """Refuse a `daybreak` command unless the local user's role grants what it needs (`COMMAND_PERMISSIONS`).

    The nightly steps need nothing: the scheduler runs them, and they print counts, never customer rows.

    Raises:
        PermissionDenied: naming the user, their role and the permission.
        RolesFileError: the roles file is not valid.
    """
    needed = COMMAND_PERMISSIONS.get((command, action), COMMAND_PERMISSIONS.get((command, None)))
    if needed is not None:
        user = local_user(settings)
        require(role_of(user, settings.roles_path), needed, user)
