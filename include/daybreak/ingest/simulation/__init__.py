"""The simulated source: drops one nightly export file per business day into a landing folder.

Daybreak's pipeline starts from files a shop's system leaves behind every night
(`<landing_dir>/<YYYY-MM-DD>/sales_<YYYY-MM-DD>.csv`). In development nothing produces them, so this package does,
in two ways, chosen by the dataset config's `source.kind` (`simulate_dataset`, what `daybreak simulate` and the
demo run):

- `synthetic.simulate_synthetic` invents an online shop: its population (`population`), how busy it is each day
  (`seasonality`), one day's orders (`shop_day`), and changes from a known day on for monitoring (`shifts`);
- `replay.replay_dataset` cuts a real dataset (online_retail, store_item, a user's own) into the same daily files.

Both write through `day_files`: byte-identical files for the same arguments, a header-only file on a closed day,
each file atomically, and a day whose file already exists skipped unless `overwrite=True`, so a rerun is cheap and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from daybreak.datasets import DatasetConfig
from daybreak.ingest.simulation.day_files import SimulationSummary
from daybreak.ingest.simulation.replay import replay_dataset
from daybreak.ingest.simulation.synthetic import simulate_synthetic


def simulate_dataset(
    config: DatasetConfig,
    landing_dir: Path,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    seed: int = 42,
    customers: int | None = None,
    products: int | None = None,
    locations: int | None = None,
    orders_per_day: float | None = None,
    source: str | None = None,
    overwrite: bool = False,
) -> SimulationSummary:
    """The dataset's nightly exports: simulated for a `kind: simulator` source (defaults from its `simulation:`),
    else replayed from the original file (`replay_dataset`). What `daybreak simulate` and the demo run."""
    if config.source["kind"] != "simulator":
        return replay_dataset(config, landing_dir, source=source, start=start, end=end, overwrite=overwrite)
    defaults = config.simulation
    return simulate_synthetic(
        landing_dir,
        start=start or dt.date.fromisoformat(str(defaults["start"])),
        end=end or dt.date.fromisoformat(str(defaults["end"])),
        seed=seed,
        customers=customers or defaults.get("customers", 2000),
        products=products or defaults.get("products", 300),
        locations=locations or defaults.get("locations", 8),
        orders_per_day=orders_per_day,
        overwrite=overwrite,
    )
