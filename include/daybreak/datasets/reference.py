"""docs/config-reference.md, generated from the schema: every key of a dataset YAML with its type, default and
description, so the page cannot drift from what the loader accepts.

    python -m daybreak.datasets.reference           # rewrite docs/config-reference.md
    python -m daybreak.datasets.reference --check   # exit 1 when the committed page is out of date
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import sys
import types
import typing
from pathlib import Path

import typing_extensions
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from daybreak.core.settings import PROJECT_ROOT
from daybreak.datasets import schema

PAGE = PROJECT_ROOT / "docs" / "config-reference.md"
INTRO = """# Dataset config reference

Generated from `include/daybreak/datasets/schema.py` by `python -m daybreak.datasets.reference`; do not edit by
hand (a unit test fails when this page and the schema disagree). A dataset config is one YAML file: a shipped one
in `include/daybreak/datasets/`, or your own anywhere (`DAYBREAK_DATASET=/data/shop.yml`; see
[bring-your-own-data.md](bring-your-own-data.md)). Every section refuses keys it does not define, naming the file,
the key path and the allowed keys; check a file with `daybreak config check FILE` (and its mapping against an
export with `--sample EXPORT`).
"""


@dataclasses.dataclass(frozen=True)
class Key:
    name: str
    annotation: typing.Any
    default: str
    description: str


def render() -> str:
    """The whole page."""
    out = [INTRO]
    for path, section in _sections(schema.DatasetConfig, ""):
        out.append(f"\n## `{path}`\n" if path else "\n## Top level\n")
        out.append(_first_paragraph(section) + "\n")
        out.append("| key | type | default | description |\n|---|---|---|---|")
        for key in _keys(section):
            description = " ".join(key.description.split()).replace("|", "\\|")
            out.append(f"| `{key.name}` | {_type(key.annotation)} | {key.default} | {description} |")
    return "\n".join(out) + "\n"


def _sections(section, path: str):
    """(path, section type) of the section and every section nested in it, depth first."""
    yield path, section
    for key in _keys(section):
        nested, suffix = _nested(key.annotation)
        if nested is not None:
            yield from _sections(nested, f"{path}.{key.name}{suffix}".lstrip("."))


def _nested(annotation) -> tuple[type | None, str]:
    """The section type a key holds (directly, per mapping key, or per list item) and how its path is written."""
    annotation = _bare(annotation)
    origin = typing.get_origin(annotation)
    if origin is dict:
        inner, suffix = _nested(typing.get_args(annotation)[1])
        return inner, ".<column>" + suffix
    if origin is tuple:
        inner, suffix = _nested(typing.get_args(annotation)[0])
        return inner, "[]" + suffix
    return (annotation, "") if _is_section(annotation) else (None, "")


def _is_section(annotation) -> bool:
    return isinstance(annotation, type) and (
        dataclasses.is_dataclass(annotation)
        or typing_extensions.is_typeddict(annotation)
        or hasattr(annotation, "_fields")
    )


def _keys(section) -> list[Key]:
    if dataclasses.is_dataclass(section):
        return [
            Key(name, info.annotation, _default(info), info.description or "")
            for name, info in section.__pydantic_fields__.items()
        ]
    hints = typing.get_type_hints(section, include_extras=True)
    keys = []
    for name, hint in hints.items():
        info = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, FieldInfo)), FieldInfo())
        optional = typing.get_origin(_strip_annotated(hint)) in (
            typing.NotRequired,
            typing_extensions.NotRequired,
        )
        default = "unset" if optional else "required"
        keys.append(Key(name, hint, default, info.description or ""))
    return keys


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    return _value(value)


def _value(value) -> str:
    if value is None:
        return "null"
    if value == "":
        return '`""`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if dataclasses.is_dataclass(value):
        return "see below"
    if isinstance(value, tuple | list):
        if value and isinstance(value[0], dict) and "name" in value[0]:
            return "`[" + ", ".join(v["name"] for v in value) + "]`"
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    if isinstance(value, dict):
        return "`{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{value:g}`"
    return f"`{value}`"


def _strip_annotated(hint):
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return hint


def _bare(hint):
    """The type without Annotated, NotRequired and `| None`."""
    hint = _strip_annotated(hint)
    if typing.get_origin(hint) in (typing.NotRequired, typing_extensions.NotRequired):
        hint = _strip_annotated(typing.get_args(hint)[0])
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _bare(options[0])
    return hint


def _type(hint) -> str:
    """A type as a reader of YAML would say it."""
    hint = _strip_annotated(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.NotRequired, typing_extensions.NotRequired):
        return _type(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        text = " or ".join(_type(a) for a in args if a is not type(None))
        return text + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in typing.get_args(hint))
    if origin is tuple:
        return f"list of {_type(typing.get_args(hint)[0])}"
    if origin is dict:
        key, value = typing.get_args(hint)
        return f"mapping of {_type(key)} to {_type(value)}"
    if _is_section(hint):
        return "mapping (see below)"
    return {
        str: "text",
        int: "integer",
        float: "number",
        bool: "true/false",
        dt.date: "date (YYYY-MM-DD)",
        dict: "mapping",
    }.get(hint, getattr(hint, "__name__", str(hint)))


def _first_paragraph(section) -> str:
    return " ".join((inspect.getdoc(section) or "").split("\n\n")[0].split())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    page = render()
    if "--check" in args:
        if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE} is out of date: run python -m daybreak.datasets.reference", file=sys.stderr)
            return 1
        return 0
    Path(PAGE).write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
