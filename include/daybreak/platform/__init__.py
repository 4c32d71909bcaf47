"""What runs Daybreak: Airflow's environment (`airflow_env`), its REST API (`airflow_api`), the nightly DAG's
schedule (`schedule`) and alerts (`alerts`), the deployment's init (`deployment`) and the demo's servers
(`serving`)."""
