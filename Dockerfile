# Daybreak's one image: Airflow's components, the pipeline's jobs and the Streamlit app, from the lock file.
# Debian bookworm: the release that ships OpenJDK 17, the Java Spark runs on.
FROM python:3.11-slim-bookworm

ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH \
    DAYBREAK_HOME=/data \
    AIRFLOW_HOME=/data/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/app/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# a headless Java 17 for DAYBREAK_ENGINE=spark (dbt-spark's session and the model nights' executors, local[N]);
# JAVA_HOME names it the same on every architecture (the settings check refuses Spark without it at start-up).
# g++ for PyTensor, which compiles the customer-value fit (PyMC-Marketing): without it PyTensor falls back to
# Python and a 100,000-customer fit takes minutes instead of 33 s (docs/benchmarks.md, "Customer value")
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless g++ \
    && ln -s "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)" /usr/lib/jvm/java-17 \
    && /usr/lib/jvm/java-17/bin/java -version \
    && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17

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
# every process of the image creates files its own user's only: 0600 files, 0700 folders under /data
# (daybreak.core.files.PRIVATE_UMASK; a `daybreak` command sets it itself, Airflow's and Streamlit's commands here)
ENTRYPOINT ["/bin/sh", "-c", "umask 077 && exec \"$@\"", "daybreak-entrypoint"]
