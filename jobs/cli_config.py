"""`daybreak config check FILE [--sample EXPORT] [--date D]`: a dataset config, and its mapping against an export."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def add_config_parser(commands, date: Callable) -> None:
    """The `config` command's grammar (`date`: the parser's date type)."""
    config = commands.add_parser("config", help="dataset configs")
    check = config.add_subparsers(dest="config_command", required=True).add_parser(
        "check", help="check a dataset YAML against the schema (docs/config-reference.md); exit 2 if broken"
    )
    check.add_argument("file", help="a dataset YAML's path, or a shipped dataset's name")
    check.add_argument(
        "--sample",
        type=Path,
        help="an export file: check its columns and first rows through the ingest rules (nothing is written)",
    )
    check.add_argument(
        "--date",
        type=date,
        help="the sample's business date (default: its landing folder's name, else each line's own day)",
    )


def check_config(file: str, sample: Path | None = None, business_date=None) -> int:
    """`daybreak config check FILE [--sample EXPORT]`: one line, OK with the dataset's name or what is wrong
    (exit 2); with a sample, what ingest would do with its first rows (`daybreak.ingest.sample_check`), exit 2
    when ingest would refuse it or load none of them."""
    # here: the parser imports this module, and the schema and the ingest rules take seconds to import
    from daybreak.datasets import DatasetConfigError, load_dataset_config
    from daybreak.ingest.sample_check import check_sample

    try:
        config = load_dataset_config(file)
    except DatasetConfigError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"OK {config.name}: {file}")
    if sample is None:
        return 0
    report = check_sample(sample, config, business_date=business_date)  # refused: one line (`cli.main`)
    print("\n".join(report.lines()))
    return 0 if report.loaded else 2
