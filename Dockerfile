# Daybreak's one image: Airflow's components, the pipeline's jobs and the Streamlit app, from the lock file.
FROM python:3.11-slim

ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH \
    DAYBREAK_HOME=/data \
    AIRFLOW_HOME=/data/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/app/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app
# dependencies first, exactly as locked (the layer is reused while uv.lock is unchanged)
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev \
    && useradd --uid 50000 --create-home daybreak \
    && mkdir -p /data \
    && chown daybreak /data

USER daybreak
VOLUME ["/data"]
