"""How to reach the lake's S3-compatible store (MinIO): the settings, their Spark (S3A) and client
forms, and reading them from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from datapipeline.settings import ConfigError

CREDENTIALS_PROVIDER_CONF = "spark.hadoop.fs.s3a.aws.credentials.provider"
# Reads fs.s3a.access.key / fs.s3a.secret.key from the Hadoop conf.
CONF_CREDENTIALS_PROVIDER = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
# Reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) from the JVM's environment.
ENV_CREDENTIALS_PROVIDER = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"


@dataclass(frozen=True)
class S3Settings:
    """Where the lake's S3-compatible store is. Credentials never have defaults."""

    endpoint: str  # with scheme: http://127.0.0.1:9000
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str = "us-east-1"

    def minio_client(self, http_client=None):
        """A MinIO (S3) client for these settings; ``http_client``: a urllib3 PoolManager with
        the caller's timeouts and retries (the client's defaults otherwise)."""
        from urllib.parse import urlparse

        from minio import Minio

        url = urlparse(self.endpoint)
        return Minio(
            url.netloc,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=url.scheme == "https",
            region=self.region,
            http_client=http_client,
        )

    def credentials_env(self) -> dict[str, str]:
        """The keys as the environment ``ENV_CREDENTIALS_PROVIDER`` reads."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}

    def hadoop_conf(self, keys_from_env: bool = False) -> dict[str, str]:
        """S3A settings; the keys themselves only when not ``keys_from_env`` (then the JVM reads
        them from its environment, see :meth:`credentials_env`)."""
        if "://" not in self.endpoint:
            raise ValueError(f"S3 endpoint {self.endpoint!r} needs a scheme (http:// or https://)")
        if keys_from_env:
            credentials = {CREDENTIALS_PROVIDER_CONF: ENV_CREDENTIALS_PROVIDER}
        else:
            credentials = {
                CREDENTIALS_PROVIDER_CONF: CONF_CREDENTIALS_PROVIDER,
                "spark.hadoop.fs.s3a.access.key": self.access_key,
                "spark.hadoop.fs.s3a.secret.key": self.secret_key,
            }
        return {
            "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            "spark.hadoop.fs.s3a.endpoint": self.endpoint,
            "spark.hadoop.fs.s3a.endpoint.region": self.region,
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": str(self.endpoint.startswith("https")).lower(),
            **credentials,
            # Fail fast instead of retrying for minutes when MinIO is down.
            "spark.hadoop.fs.s3a.attempts.maximum": "3",
            "spark.hadoop.fs.s3a.retry.limit": "3",
            "spark.hadoop.fs.s3a.connection.establish.timeout": "5s",
            "spark.hadoop.fs.s3a.connection.timeout": "30s",
            # Delta on S3: one writing driver per table (S3SingleDriverLogStore, the default for s3a).
            "spark.delta.logStore.s3a.impl": "io.delta.storage.S3SingleDriverLogStore",
        }


def s3_from_env(endpoint: str | None, region: str, env: Mapping[str, str]) -> S3Settings:
    access = env.get("DP_S3_ACCESS_KEY") or env.get("AWS_ACCESS_KEY_ID")
    secret = env.get("DP_S3_SECRET_KEY") or env.get("AWS_SECRET_ACCESS_KEY")
    if not endpoint:
        raise ConfigError("S3 endpoint not set: pass --s3-endpoint or set DP_S3_ENDPOINT (e.g. http://127.0.0.1:9000)")
    if not access or not secret:
        raise ConfigError("S3 credentials not set: export DP_S3_ACCESS_KEY and DP_S3_SECRET_KEY")
    if "://" not in endpoint:
        raise ConfigError(f"S3 endpoint {endpoint!r} needs a scheme, e.g. http://{endpoint}")
    return S3Settings(endpoint=endpoint, access_key=access, secret_key=secret, region=region)
