"""The continuous ingestion apps (processingTime trigger) as local processes: one per query of
the job, ``ingest-stream-bronze`` and ``ingest-stream-refine`` (see datapipeline.supervisor);
refine's runs at ``nice`` ``REFINE_NICE`` so that it only gets the CPU bronze leaves.

Not started by `task local:up`: the ``streaming_supervisor`` DAG submits each and resubmits it
when it dies, exactly as it does with the SparkApplications on Kubernetes. `task local:down`
stops them with everything else.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from datapipeline.local.service import Service
from datapipeline.supervisor import REFINE_NICE, STREAM_APPS, stream_manifest


class StreamingIngest(Service):
    port_env = "-"

    def __init__(self, cfg, secrets, client_env: Callable[[], dict[str, str]], query: str) -> None:
        super().__init__(cfg, secrets)
        self._client_env = client_env
        self.query = query
        self.name = STREAM_APPS[query]

    def _submit(self):
        from datapipeline.sparkapp import load_spec, spark_submit_command, spec_path

        environ = {**os.environ, **self._client_env()}
        return spark_submit_command(stream_manifest(load_spec(spec_path("ingest")), self.query), environ=environ)

    def ports(self) -> list[int]:
        return []

    def address(self) -> str:
        return f"{self.cfg.host}:{self.cfg.ports.kafka} -> lake"

    def prepare(self) -> None:
        pass

    def command(self) -> list[str]:
        argv = self._submit().argv
        return ["nice", "-n", str(REFINE_NICE), *argv] if self.query == "refine" else argv

    def environment(self) -> dict[str, str]:
        return {**self._client_env(), **self._submit().env}

    def probe(self) -> bool:
        return self.process() is not None
