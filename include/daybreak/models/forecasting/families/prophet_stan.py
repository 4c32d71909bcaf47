"""What the Prophet family needs around Prophet itself: Stan's workspace and data, a cold refit, the stored fit.

Kept apart from `prophet.py` (the model: its parameters, fit, forecast and components) because none of it is
about forecasting: where Stan writes its files and how they are removed whatever ends the process, how Stan gets
its data fast, and how a fitted model is written down small enough to keep per series and read back later.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import shutil
import signal
import sys
import tempfile
import threading
from typing import Any

import numpy as np
import pandas as pd

from daybreak.models.forecasting.context import CalendarDays, SeriesContext

STAN_MODULES = (
    "cmdstanpy",
    "cmdstanpy.model",
    "cmdstanpy.stanfit.mcmc",
    "cmdstanpy.stanfit.runset",
    "cmdstanpy.utils.filesystem",
)
"""The cmdstanpy modules that copy its temporary folder's name when imported."""
STORED_HISTORY_ROWS = 2
"""Rows of the history a stored Prophet fit keeps: `predict` refuses a model without history, reads the last date
of it, and the step between periods when the future is one period long."""


@contextlib.contextmanager
def stan_workspace():
    """A temporary folder for Stan's files during one fit, removed on every way out, SIGTERM included.

    cmdstanpy writes each fit's data and output under a folder it makes at import and removes only at a normal
    interpreter exit, so a process killed mid-fit (a task timeout, a stopped container) leaves it behind. Here each
    fit gets its own folder, removed when the block ends or fails; a SIGTERM meanwhile removes it, and cmdstanpy's
    own, before the previous handler (or the default, terminating) runs.
    """
    import cmdstanpy  # noqa: F401 - heavy (Stan's interface); loads the modules whose folder name is swapped below

    modules = [sys.modules[name] for name in STAN_MODULES if name in sys.modules]
    original = {module: module._TMPDIR for module in modules}
    # the handler is in place before the folder exists, so no SIGTERM can fall between the two
    created: list[str] = []
    handler_installed = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if handler_installed else None

    def _terminated(signum, frame):
        for folder in {*created, *original.values()}:
            shutil.rmtree(folder, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
        else:
            os.kill(os.getpid(), signal.SIGTERM)

    if handler_installed:
        signal.signal(signal.SIGTERM, _terminated)
    try:
        created.append(tempfile.mkdtemp(prefix="daybreak-stan-"))
        workspace = created[0]
        for module in modules:
            module._TMPDIR = workspace
        yield workspace
    finally:
        if handler_installed:
            signal.signal(signal.SIGTERM, previous)
        for module, folder in original.items():
            module._TMPDIR = folder
        for folder in created:
            shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def array_backend():
    """Prophet's cmdstanpy backend, handing Stan its data as numpy arrays instead of Python lists.

    Prophet's own backend turns every array (the feature matrix too) into nested lists, which cmdstanpy's JSON
    writer then walks element by element in Python: about a third of a store-item fit's time (bench
    forecast_store_item). Arrays take the writer's vectorised path and give the same file, so the same fit. One
    instance per process: it only holds the last fit's handle, and fits run one at a time.
    """
    from prophet.models import CmdStanPyBackend  # heavy: imported with the first Prophet fit

    class ArrayBackend(CmdStanPyBackend):
        @staticmethod
        def prepare_data(init: dict[str, Any], data: dict[str, Any]) -> tuple[dict, dict]:
            arrays = ("y", "t", "cap", "t_change", "s_a", "s_m", "delta", "beta")
            keys = ("T", "S", "K", "tau", "trend_indicator", "y", "t", "cap", "t_change", "s_a", "s_m")
            stan_data = {k: np.asarray(data[k]) if k in arrays else data[k] for k in keys}
            stan_data.update(X=data["X"].to_numpy(), sigmas=data["sigmas"])  # Prophet's order, its exact file
            stan_init = {
                k: np.asarray(init[k]) if k in arrays else init[k]
                for k in ("k", "m", "delta", "beta", "sigma_obs")
            }
            return stan_init, stan_data

    return ArrayBackend()


def refit_cold(template, history: pd.DataFrame, seed: int):
    """A new Prophet model like `template`, fitted on `history` from Prophet's default start (no warm start)."""
    from prophet import Prophet  # heavy: only a fit that failed from its warm start gets here

    model = Prophet(
        seasonality_mode=template.seasonality_mode,
        yearly_seasonality=template.yearly_seasonality,
        weekly_seasonality=template.weekly_seasonality,
        daily_seasonality=template.daily_seasonality,
        changepoint_prior_scale=template.changepoint_prior_scale,
        holidays=template.holidays,
        uncertainty_samples=template.uncertainty_samples,
    )
    for name in template.extra_regressors:
        model.add_regressor(name)
    model.stan_backend = array_backend()
    return model.fit(history, seed=seed)


def stored_prophet(model) -> dict:
    """What a fitted Prophet model needs to predict later without its history or Stan, as JSON-ready data.

    Prophet's own serialisation (`prophet.serialize.model_to_dict`) of a trimmed copy: the fitted parameters
    without the per-period `trend` (predict recomputes it from `k`, `m` and `delta`), no history dates, fit
    arguments (the warm start's init) or changepoint dates (predict uses their positions, `changepoints_t`), no
    holidays frame (the calendar gives it back when the fit is used, `restored_prophet`), and not the table of
    which feature feeds which component (`train_component_cols`, only compared with itself in `predict`: the
    features come out in the same order from the same seasonalities, sorted holiday names and regressors). Of
    the history, only `ds` and `t` of its last `STORED_HISTORY_ROWS` rows, as plain lists (`history_tail`):
    parsing Prophet's table-JSON of it would be a sixth of a stored fit's forecast. So the stored fit is about
    5 kB whatever the history's length (docs/benchmarks.md).
    """
    from prophet.serialize import model_to_dict  # heavy: Prophet's own serialisation

    tail = model.history.tail(STORED_HISTORY_ROWS)
    trimmed = copy.copy(model)  # shallow: the attributes below are replaced, never changed in place
    trimmed.history = tail.iloc[:0]  # model_to_dict insists on a fitted model's history
    trimmed.history_dates = None
    trimmed.changepoints = None
    trimmed.fit_kwargs = {}
    trimmed.params = {k: v for k, v in model.params.items() if k != "trend"}
    trimmed.holidays = None
    trimmed.train_component_cols = None
    stored = model_to_dict(trimmed)
    stored["history"] = None
    stored["history_tail"] = {
        "ds": [d.isoformat() for d in tail["ds"]],
        "t": [float(t) for t in tail["t"]],
    }
    return stored


def restored_prophet(fit: dict, ctx: SeriesContext):
    """The Prophet model of a stored fit (`stored_prophet`), its holidays from `ctx`'s calendar."""
    from prophet.serialize import model_from_dict  # heavy: Prophet's own serialisation

    model = model_from_dict(dict(fit))  # model_from_dict fills in keys of older versions in place
    tail = fit["history_tail"]
    model.history = pd.DataFrame({"ds": pd.to_datetime(tail["ds"]), "t": tail["t"]})
    if model.train_holiday_names is not None:
        model.holidays = holidays_frame(ctx.calendar)
    return model


def holidays_frame(calendar: CalendarDays) -> pd.DataFrame:
    """The calendar's holidays as Prophet's `holidays` frame (`holiday, ds`)."""
    return pd.DataFrame(
        {
            "holiday": [name for _, name in calendar.holidays],
            "ds": pd.to_datetime([d for d, _ in calendar.holidays]),
        }
    )
