"""datapipeline: a streaming lakehouse (Kafka -> Spark -> Delta on MinIO, run by Airflow).

Shared, importable code for the Spark jobs (`spark_apps/`), the DAGs (`dags/`),
the scripts (`scripts/`) and the tests (`tests/`). Nothing here has import-time side effects.
"""
