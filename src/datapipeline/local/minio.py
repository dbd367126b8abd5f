"""MinIO server (built from source by `go install`) with the pipeline's buckets."""

from __future__ import annotations

import urllib.request

from datapipeline.local.config import BUCKETS
from datapipeline.local.service import Service, ServiceError


class MinIO(Service):
    name = "minio"
    port_env = "DP_MINIO_PORT"

    def ports(self) -> list[int]:
        return [self.cfg.ports.minio, self.cfg.ports.minio_console]

    def address(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.ports.minio}"

    def console_url(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.ports.minio_console}"

    def prepare(self) -> None:
        self.cfg.data_dir(self.name).mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        binary = self.cfg.bin_dir / "minio"
        if not binary.is_file():
            raise ServiceError(f"{self.name}: {binary} not found; run `task bootstrap`")
        return [
            str(binary),
            "server",
            str(self.cfg.data_dir(self.name)),
            "--address",
            f"{self.cfg.host}:{self.cfg.ports.minio}",
            "--console-address",
            f"{self.cfg.host}:{self.cfg.ports.minio_console}",
            "--quiet",
        ]

    def environment(self) -> dict[str, str]:
        return {
            "MINIO_ROOT_USER": self.secrets.minio_root_user,
            "MINIO_ROOT_PASSWORD": self.secrets.minio_root_password,
            "MINIO_UPDATE": "off",
            "MINIO_REGION": "us-east-1",
        }

    def probe(self) -> bool:
        with urllib.request.urlopen(f"{self.address()}/minio/health/ready", timeout=2) as resp:  # noqa: S310
            return resp.status == 200

    def client(self):
        from minio import Minio

        return Minio(
            f"{self.cfg.host}:{self.cfg.ports.minio}",
            access_key=self.secrets.minio_root_user,
            secret_key=self.secrets.minio_root_password,
            secure=False,
            region="us-east-1",
        )

    def after_start(self) -> None:
        client = self.client()
        try:
            for bucket in BUCKETS:
                if not client.bucket_exists(bucket):
                    client.make_bucket(bucket)
        finally:
            client._http.clear()  # close pooled connections now rather than at garbage collection
