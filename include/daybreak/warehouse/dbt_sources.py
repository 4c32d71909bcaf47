"""dbt's and the docs' view of the tables Python writes, generated from their declarations (`daybreak.warehouse.tables`).

`dbt_project/models/sources/_daybreak__sources.yml` and the table list in docs/architecture.md (between its
`tables:begin` and `tables:end` markers) are generated, never edited: `python -m daybreak.warehouse.dbt_sources` rewrites
both, and a unit test fails when a committed copy differs from what the declarations give. So `dbt docs` shows predictions, registry and monitoring
beside the marts with the same descriptions, and a full refresh's `dbt build` tests their keys: `not_null` on every
column declared not nullable, `unique` on a one-column key, `unique_combination` (tests/generic) on a composite one
(a night's build leaves them out: each write checks its rows, `Table.check`).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from daybreak.core.files import write_text_atomic
from daybreak.core.settings import PROJECT_ROOT
from daybreak.warehouse.declaration import Table
from daybreak.warehouse.tables import TABLES

SOURCES_FILE = PROJECT_ROOT / "dbt_project" / "models" / "sources" / "_daybreak__sources.yml"
DOCS_FILE = PROJECT_ROOT / "docs" / "architecture.md"
DOCS_BEGIN, DOCS_END = "<!-- tables:begin -->", "<!-- tables:end -->"
SCHEMAS = {
    "predictions": "What the model jobs write each night (jobs.forecast, jobs.segment); one partition per as-of date.",
    "registry": "The model registry (daybreak.warehouse.registry): every trained version and the audit log of its status.",
    "monitoring": "Ingest's accounting and quarantine, rebuild requests for late files, drift, data quality, model "
    "references, reports and retrain decisions.",
    "reference": "Facts of the dataset config as data, written before dbt runs (daybreak.datasets.calendar): the calendar.",
    "planning": "Planners' forecast overrides and their audit, copied from the overrides log by the forecast night.",
}
# dbt-only settings of a source table: ingest_runs says whether anything landed recently, by the wall clock
# (`daybreak freshness` runs `dbt source freshness`; the nightly pipeline never reads the clock)
EXTRA = {
    "monitoring.ingest_runs": {
        "loaded_at_field": "ingested_at",
        "freshness": {
            "warn_after": {"count": 26, "period": "hour"},
            "error_after": {"count": 50, "period": "hour"},
        },
    }
}
HEADER = "# Generated from include/daybreak/warehouse/tables.py by `python -m daybreak.warehouse.dbt_sources`: do not edit.\n"


def _table(declared: Table) -> dict:
    entry: dict = {
        "name": declared.name,
        "description": declared.description,
        **EXTRA.get(declared.qualified, {}),
    }
    if len(declared.key) > 1:
        entry["data_tests"] = [{"unique_combination": {"combination_of_columns": list(declared.key)}}]
    columns = []
    for column in declared.columns:
        tests = [] if column.nullable else ["not_null"]
        if declared.key == (column.name,):
            tests.append("unique")
        columns.append(
            {
                "name": column.name,
                "data_type": column.type.lower(),
                "description": column.description,
                **({"data_tests": tests} if tests else {}),
            }
        )
    entry["columns"] = columns
    return entry


def sources_yaml() -> str:
    """The sources YAML for every declared table, grouped by schema in declaration order."""

    sources = [
        {
            "name": schema,
            "description": description,
            "schema": schema,
            "tables": [_table(t) for t in TABLES.values() if t.schema == schema],
        }
        for schema, description in SCHEMAS.items()
    ]
    body = yaml.safe_dump({"sources": sources}, sort_keys=False, width=110, allow_unicode=True)
    return HEADER + body


def tables_markdown() -> str:
    """One entry per declared table: its name, meaning, key and partition, then its columns and types."""
    entries = []
    for declared in TABLES.values():
        partition = f"partition `{declared.partition}`" if declared.partition else "updated in place"
        columns = "\n".join(
            f"| `{c.name}` | {c.type}{'' if c.nullable else ' not null'} | {_cell(c.description)} |"
            for c in declared.columns
        )
        entries.append(
            f"#### `{declared.qualified}`\n\n{declared.description} Key ({', '.join(declared.key)}); {partition}.\n\n"
            f"| column | type | meaning |\n|---|---|---|\n{columns}\n"
        )
    return "\n".join(entries)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def docs_with_tables(text: str) -> str:
    """`text` (docs/architecture.md) with the generated table list between its markers."""
    start, end = text.index(DOCS_BEGIN) + len(DOCS_BEGIN), text.index(DOCS_END)
    return f"{text[:start]}\n{tables_markdown()}{text[end:]}"


def main() -> None:
    """Rewrite the committed sources YAML and the docs' table list from the declarations."""

    print(write_text_atomic(Path(SOURCES_FILE), sources_yaml()))
    print(write_text_atomic(Path(DOCS_FILE), docs_with_tables(Path(DOCS_FILE).read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
