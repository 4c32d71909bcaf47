"""The global candidates' fits across all series, planned and made before the series run one by one.

A global family (`family.PanelFamily`) learns from every series at once, so it cannot be fitted inside one
series' task. Here it is fitted once per backtest fold and once on the full histories, for every group of series
that share an origin, a context and the backtest's shape, and each task gets its share (`SeriesTask.panel`),
which its backtest and final fit then score like any other candidate's.
"""

from __future__ import annotations

import dataclasses
import os

import pandas as pd

from daybreak.core.worker_pool import worker_pool
from daybreak.models.forecasting import registry
from daybreak.models.forecasting.context import regular_history
from daybreak.models.forecasting.metrics import min_train
from daybreak.models.forecasting.series import degenerate
from daybreak.models.forecasting.spec import CandidateSpec
from daybreak.models.forecasting.tasks import PanelForecast, SeriesTask


def with_panel_forecasts(tasks: list[SeriesTask], *, max_workers: int | None = None) -> list[SeriesTask]:
    """The tasks with their global candidates' forecasts (`SeriesTask.panel`), fitted across all series.

    Series that share an origin, a context and the backtest's shape share the fits: for every global spec a
    series backtests (a candidate on a retrain night) or scores with (its champion), one fit per backtest fold
    on every eligible series' history up to the fold's cutoff (the same cutoffs `metrics.backtest_cutoffs`
    gives each series: they count back from the common origin), and one on the full histories. The fits are
    independent and single-threaded, so they run side by side in up to `max_workers` processes. A fit that
    fails leaves its series a reason instead, never a failed night.
    """
    wanted: dict[int, list[CandidateSpec]] = {}
    for index, task in enumerate(tasks):
        specs = [c for c in task.options.candidates if registry.across_series(c)] if task.retrain else []
        champion = task.champion.spec if task.champion is not None else None
        if champion is not None and registry.across_series(champion) and champion not in specs:
            specs.append(champion)
        if specs:
            wanted[index] = specs
    if not wanted:
        return tasks
    groups: dict[tuple, list[int]] = {}
    for index, task in enumerate(tasks):
        o = task.options
        key = (pd.Timestamp(task.origin), task.context, o.horizon, o.bt_horizon, o.bt_step, o.folds)
        groups.setdefault(key, []).append(index)
    entries: dict[tuple[int, str], PanelForecast] = {}
    fits: list[tuple[str, pd.Timestamp | None, dict, tuple]] = []
    for members in groups.values():
        if any(i in wanted for i in members):
            _plan_group(tasks, members, wanted, entries, fits)
    workers = min(max_workers or os.cpu_count() or 1, len(fits))
    jobs = [job for _, _, _, job in fits]
    if workers < 2:
        outcomes = [_panel_fit(job) for job in jobs]
    else:
        with worker_pool(workers) as pool:
            outcomes = list(pool.map(_panel_fit, jobs))
    for (name, end, part, _), (bands, failure) in zip(fits, outcomes, strict=True):
        for i in part:
            entry = entries[(i, name)]
            if failure is not None:
                entry.reason = failure
            elif end is None:
                entry.final, entry.reason = bands[tasks[i].series_id], None
            else:
                entry.folds[end] = bands[tasks[i].series_id]
    panels: dict[int, dict[str, PanelForecast]] = {}
    for (i, name), entry in entries.items():
        panels.setdefault(i, {})[name] = entry
    return [dataclasses.replace(t, panel=panels[i]) if i in panels else t for i, t in enumerate(tasks)]


def _plan_group(
    tasks: list[SeriesTask],
    members: list[int],
    wanted: dict[int, list[CandidateSpec]],
    entries: dict[tuple[int, str], PanelForecast],
    fits: list,
) -> None:
    """The global fits of one group of series sharing an origin and a context (see `with_panel_forecasts`):
    adds each series' empty entry per spec to `entries`, and each fit, `(label, fold end or None for the final
    fit, the series in it, the job for _panel_fit)`, to `fits`."""
    first = tasks[members[0]]
    ctx, options = first.context, first.options
    origin = pd.Timestamp(first.origin)
    histories = {i: regular_history(tasks[i].ds, tasks[i].y, origin, ctx.freq) for i in members}
    usable = [i for i in members if degenerate(histories[i][1]) is None]
    specs: list[CandidateSpec] = []
    for i in members:
        specs.extend(s for s in wanted.get(i, []) if s not in specs)
    retrained = any(tasks[i].retrain and i in wanted for i in members)
    shortest = min_train(ctx.season_length)
    offsets = [options.bt_horizon + options.bt_step * (options.folds - 1 - k) for k in range(options.folds)]
    for spec in specs:
        name, family = spec.label, registry.family(spec.name)
        reasons = {i: family.panel_ineligible(spec, histories[i][1], ctx, options.horizon) for i in usable}
        for i in members:
            entries[(i, name)] = PanelForecast(reason=reasons.get(i, "no known non-zero value"))
        planned = [(None, options.horizon, {i: histories[i] for i in usable if reasons[i] is None})]
        if retrained:
            for offset in offsets:
                part = {}
                for i in usable:
                    ds, y = histories[i]
                    cutoff = len(y) - offset
                    if cutoff >= shortest and not family.panel_ineligible(
                        spec, y[:cutoff], ctx, options.bt_horizon, options.horizon
                    ):
                        part[i] = (ds[:cutoff], y[:cutoff])
                if part:
                    planned.append((next(iter(part.values()))[0][-1], options.bt_horizon, part))
        for end, horizon, part in planned:
            if part:
                keyed = {tasks[i].series_id: value for i, value in part.items()}
                fits.append((name, end, part, (spec, keyed, horizon, ctx, options.horizon)))


def _panel_fit(job: tuple) -> tuple[dict | None, str | None]:
    """One global fit: (bands per series, None), or (None, why it failed) - a failure never fails the night."""
    spec, keyed, horizon, ctx, reach = job
    try:
        return registry.family(spec.name).fit_panel(spec, keyed, horizon, ctx, reach), None
    except Exception as error:  # noqa: BLE001 - a failed global fit leaves reasons, not a failed night
        return None, f"the global fit failed: {type(error).__name__}: {str(error)[:200]}"
