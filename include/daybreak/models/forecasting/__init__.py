"""Forecasts per series: model families behind one interface, and the engine that backtests, selects and fits them.

The families (`family.Family`; one module each in `families/`, registered by name in `registry`) know how to fit
and forecast; the engine knows none of them by name:

* `spec`: a candidate spec (a family's name and parameters); `registry` checks one against its family.
* `context`, `bands`: what a model sees besides the values (grid, calendar, seed), and what holds whatever it
  says (the calendar's zeros, nested intervals).
* `fitting`: a spec fitted, or forecast from its stored fit, through its family.
* `metrics`, `backtest`, `halving`: rolling-origin folds, their scores, successive halving, the challenger.
* `time_limit`: a fit that runs over is abandoned.
* `options`, `tasks`: `ForecastOptions`, and one series' task and result (champion, selection, challenger).
* `series`: one series' night (`run_series`); `panel`: the global fits across all series; `pool`: many series
  in worker processes (`run_all`); `adhoc`: a file's series forecast without the warehouse (`forecast_frame`).

Everything here is pure: arrays and dates in, arrays out, seeded; no warehouse, no files.
"""
