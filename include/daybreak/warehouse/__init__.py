"""The warehouse: opening it (`connection`), the tables Python writes declared once (`tables`), writing them
(`writes`), the model registry (`registry`), the read-only serving copy (`publish`), rewriting the file after an
erasure (`compaction`) and dbt's generated sources (`dbt_sources`)."""
