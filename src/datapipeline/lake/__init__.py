"""What every tool shares about the lake: where the tables and checkpoints are (``layout``), how to
reach S3 (``s3``), reading tables without Spark (``delta_rs``), reading the job's progress from its
checkpoints (``checkpoints``) and the lake tools' common options (``cli``). No Spark here."""
