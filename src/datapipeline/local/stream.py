"""The continuous ingestion app (processingTime trigger) as a local process.

Not started by `task local:up`: the ``streaming_supervisor`` DAG submits it and resubmits it
when it dies, exactly as it does with the SparkApplication on Kubernetes. `task local:down`
stops it with everything else.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from datapipeline.local.service import Service
from datapipeline.supervisor import STREAM_APP, stream_manifest


class StreamingIngest(Service):
    name = STREAM_APP
    port_env = "-"

    def __init__(self, cfg, secrets, client_env: Callable[[], dict[str, str]]) -> None:
        super().__init__(cfg, secrets)
        self._client_env = client_env

    def _submit(self):
        from datapipeline.sparkapp import load_spec, spark_submit_command, spec_path

        environ = {**os.environ, **self._client_env()}
        return spark_submit_command(stream_manifest(load_spec(spec_path("ingest"))), environ=environ)

    def ports(self) -> list[int]:
        return []

    def address(self) -> str:
        return f"{self.cfg.host}:{self.cfg.ports.kafka} -> lake"

    def prepare(self) -> None:
        pass

    def command(self) -> list[str]:
        return self._submit().argv

    def environment(self) -> dict[str, str]:
        return {**self._client_env(), **self._submit().env}

    def probe(self) -> bool:
        return self.process() is not None
