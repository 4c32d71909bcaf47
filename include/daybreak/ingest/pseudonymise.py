"""A landed file's customer ids replaced by their pseudonyms before the lake or the warehouse sees them.

The keyed hash itself is the privacy service's (`daybreak.privacy.pseudonyms`); this applies it to what ingest
read: the loaded lines and the quarantined rows' raw values.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import pandas as pd

from daybreak.privacy.pseudonyms import canonical_id, pseudonym, pseudonym_map

if TYPE_CHECKING:
    from daybreak.datasets import DatasetConfig
    from daybreak.ingest.canonical import FileResult


def pseudonymise(result: FileResult, config: DatasetConfig, key: bytes) -> tuple[FileResult, dict[str, str]]:
    """A landed file's result with every customer id replaced by its pseudonym, and the links it made.

    The loaded lines' `customer_id` and, in the quarantined rows' `raw_values`, the export column the config maps
    to customer_id (the id as `to_canonical` reads it: stripped, a float's `.0` dropped) are replaced; missing
    or empty ids stay missing. A malformed row's raw text cannot be split into fields and is kept as it arrived
    (an erasure scrubs it: `daybreak.nights.erasure`).

    Returns:
        the result, and source id -> pseudonym for every id it holds.
    """
    loaded = result.loaded
    ids = loaded["customer_id"] if "customer_id" in loaded.columns else pd.Series(dtype=object)
    links = pseudonym_map(ids, key)
    if len(loaded):
        loaded = loaded.assign(customer_id=ids.map(links))
    quarantined = result.quarantined
    column = config.mapped_columns.get("customer_id")
    if column and len(quarantined) and "raw_values" in quarantined.columns:
        values = [json.loads(text) for text in quarantined["raw_values"]]
        for row in values:
            source = canonical_id(row.get(column))
            if source is not None:
                links.setdefault(source, pseudonym(source, key))
                row[column] = links[source]
        quarantined = quarantined.assign(raw_values=[json.dumps(r, ensure_ascii=False) for r in values])
    return dataclasses.replace(result, loaded=loaded, quarantined=quarantined), links
