"""Daybreak's benchmark harness: `python -m bench <name>`; each benchmark prints figures as ratios against a
baseline it measures in the same run, so results compare across machines. Results go in docs/benchmarks.md."""
