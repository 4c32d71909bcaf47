"""Daybreak's model logic: pure functions, DataFrame in, DataFrame out.

Nothing in this package reads or writes the warehouse or the file system; the jobs in `jobs/` do that at the
edges and call in here. Every function is deterministic for a given input and seed, so a rerun of a night
writes the same rows, and picklable, so an engine can run it per series or per partition in other processes.

* `forecasting`: forecasts per series with 80% and 95% intervals: model families as plug-ins, backtested
  selection, champions refit or scored from their stored fits, and a flagged baseline fallback.
* `periods`: a dataset's forecast periods; `hierarchy`, `reconciliation`: coherent forecasts across series.
* `promotion`: the gate a challenger passes to replace a champion.
* `segmentation`: RFM-style customer segments from the customer feature mart (k-means).
* `customer_value`: each customer's probability of being active, purchases and revenue ahead (BG/NBD, Gamma-Gamma).
* `drift`: data drift of sales lines between a reference and a current window (Evidently).
"""

DEFAULT_SEED = 20_240_101
"""The seed every model uses unless told otherwise: fixed, so the same inputs give the same rows."""
