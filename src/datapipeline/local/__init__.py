"""The local platform: real ZooKeeper, Kafka, MinIO and PostgreSQL processes on loopback.

Used by `task local:*` (``python -m datapipeline.local``) and by the pytest fixtures in
``tests/conftest.py``; both drive :class:`datapipeline.local.platform.LocalPlatform`.
"""
