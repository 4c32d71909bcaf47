"""Daybreak: a nightly, workflow-orchestrated batch ML analytics platform.

The importable core shared by the Airflow DAGs, the command-line jobs and the dashboards. Nothing here does work
at import time: settings are read when asked for, heavy libraries are imported inside the functions that use them.
"""

__version__ = "0.1.0"
