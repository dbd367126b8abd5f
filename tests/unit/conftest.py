from spark_support import spark  # noqa: F401  (the suite's one SparkSession fixture)
