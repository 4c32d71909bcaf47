"""Dataset configs: which YAML a dataset is, and that YAML read and checked against the schema.

Three configs ship beside this module (`available_datasets()`); a user's own is a YAML file anywhere, named by
its path (`DAYBREAK_DATASET=/data/shop.yml`, `--dataset /data/shop.yml`). Every key is defined once, in
`daybreak.datasets.schema` (docs/config-reference.md is generated from it); this module finds the file, refuses
keys the schema does not define, and turns every problem into one line naming the file, the key path and what is
wrong.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

import typing_extensions
import yaml
from pydantic import ValidationError

from daybreak.core.settings import (
    CONFIG_DIR,
    DatasetConfigError,
    dataset_path,
)
from daybreak.core.vocabulary import FREQUENCIES
from daybreak.datasets.customer_value import CustomerValueConfig
from daybreak.datasets.fields import (
    CANONICAL_COLUMNS,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    RETRAIN_SCHEDULES,
    SEGMENTATION_ALGORITHMS,
    TARGETS,
    TEXT_RULE_COLUMNS,
    is_retrain_day,
)
from daybreak.datasets.forecasting import (
    Calendar,
    ForecastingConfig,
    SeriesSpec,
    parse_candidates,
)
from daybreak.datasets.landing import (
    Derived,
    Landing,
    LineClassification,
    Validation,
)
from daybreak.datasets.monitoring import (
    SegmentationConfig,
)
from daybreak.datasets.schema import (
    DatasetConfig,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "FREQUENCIES",
    "NUMERIC_COLUMNS",
    "REQUIRED_COLUMNS",
    "RETRAIN_SCHEDULES",
    "SEGMENTATION_ALGORITHMS",
    "TARGETS",
    "TEXT_RULE_COLUMNS",
    "Calendar",
    "CustomerValueConfig",
    "DatasetConfig",
    "DatasetConfigError",
    "Derived",
    "ForecastingConfig",
    "Landing",
    "LineClassification",
    "SegmentationConfig",
    "SeriesSpec",
    "Validation",
    "is_retrain_day",
    "load_dataset_config",
    "parse_candidates",
    "parse_dataset_config",
]


def load_dataset_config(dataset: str | Path) -> DatasetConfig:
    """Read and check a dataset's YAML (a shipped name or a path, see `dataset_path`).

    Raises:
        DatasetConfigError: no such dataset, unreadable YAML, an unknown key, a value of the wrong type or range,
            or a `name:` other than the file's name; the one-line message names the file and the key path.
    """
    path = dataset_path(dataset)
    try:
        raw = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )  # noqa: S506 - safe loaders only
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise DatasetConfigError(f"{path}: not readable as YAML: {' '.join(str(error).split())}") from None
    config = parse_dataset_config(raw, origin=str(path))
    if config.name != path.stem:
        raise DatasetConfigError(
            f"{path}: name {config.name!r} differs from the file's name {path.stem!r}; they must be the same"
        )
    default = config.source.get("default_path")
    if (
        path.parent != CONFIG_DIR
        and default
        and "://" not in default
        and not Path(default).expanduser().is_absolute()
    ):
        # your own config's data file is found beside the config, wherever Daybreak is run from
        config = dataclasses.replace(
            config, source={**config.source, "default_path": str(path.parent / default)}
        )
    return config


def parse_dataset_config(raw: Any, origin: str = "<config>") -> DatasetConfig:
    """Check a dataset YAML's content against the schema.

    Raises:
        DatasetConfigError: `<origin>: <key path>: <what is wrong>` for the first problem found.
    """
    if not isinstance(raw, dict):
        raise DatasetConfigError(
            f"{origin}: a dataset config is a mapping of sections, got {type(raw).__name__}"
        )
    problem = _unknown_key(raw, DatasetConfig, ())
    if problem:
        raise DatasetConfigError(f"{origin}: {problem}")
    try:
        return DatasetConfig(**raw)
    except ValidationError as error:
        raise DatasetConfigError(f"{origin}: {_describe(error.errors()[0])}") from None


def _describe(error: dict) -> str:
    """One pydantic error as `key.path: message (got value)`."""
    path = ".".join(str(part) for part in error["loc"] if part != "[key]")
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if error["type"] == "missing":
        message = "required key missing"
    elif error["type"] not in ("value_error", "assertion_error"):
        message += f" (got {error.get('input')!r})"
    return f"{path}: {message}" if path else message


def _unknown_key(raw: Any, annotation: Any, path: tuple[str, ...]) -> str | None:
    """The first key of `raw` that the schema type `annotation` does not define, as a message naming the key
    path and the allowed keys; None when every key is known (types and values are pydantic's to check)."""
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin is dict and isinstance(raw, dict):
        value_type = typing.get_args(annotation)[1]
        for key, value in raw.items():
            if problem := _unknown_key(value, value_type, (*path, str(key))):
                return problem
        return None
    if origin is tuple and isinstance(raw, list | tuple):
        item_type = typing.get_args(annotation)[0]
        for index, value in enumerate(raw):
            if problem := _unknown_key(value, item_type, (*path, str(index))):
                return problem
        return None
    fields = _fields(annotation)
    if fields is None or not isinstance(raw, dict):
        return None
    for key, value in raw.items():
        if key not in fields:
            where = ".".join((*path, str(key)))
            return f"unknown key `{where}`; allowed{' in ' + '.'.join(path) if path else ''}: {', '.join(fields)}"
        if problem := _unknown_key(value, fields[key], (*path, str(key))):
            return problem
    return None


def _fields(annotation: Any) -> dict[str, Any] | None:
    """A section's keys and their types (a dataclass, TypedDict or NamedTuple), or None for other types."""
    if not isinstance(annotation, type):
        return None
    if (
        dataclasses.is_dataclass(annotation)
        or typing_extensions.is_typeddict(annotation)
        or hasattr(annotation, "_fields")
    ):
        hints = typing.get_type_hints(annotation, include_extras=True)
        names = (
            [f.name for f in dataclasses.fields(annotation)]
            if dataclasses.is_dataclass(annotation)
            else list(hints)
        )
        return {name: hints[name] for name in names}
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated, NotRequired and `X | None` down to the type a value is checked against."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated or origin in (typing.NotRequired, typing.Required):
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
