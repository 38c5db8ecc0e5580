"""The one settings object of the project.

Every value comes from an ``ECOM_``-prefixed environment variable or its default;
nothing else in the project reads ``os.environ``.  Secrets are ``SecretStr`` and the
printout (:meth:`Settings.describe`) hides them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _home() -> Path:
    return Path.home()


class Settings(BaseSettings):
    """Settings of the pipeline; each field names its variable and default."""

    model_config = SettingsConfigDict(env_prefix="ECOM_", frozen=True, extra="ignore")

    # --- Kafka -------------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="ECOM_KAFKA_BOOTSTRAP_SERVERS: host:port[,host:port]"
    )
    kafka_security: Literal["plaintext", "sasl", "sasl_ssl"] = Field(
        "plaintext", description="ECOM_KAFKA_SECURITY: plaintext (default), sasl or sasl_ssl"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = Field(
        "SCRAM-SHA-256", description="ECOM_KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str | None = Field(None, description="ECOM_KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(None, description="ECOM_KAFKA_SASL_PASSWORD")
    kafka_ssl_cafile: Path | None = Field(None, description="ECOM_KAFKA_SSL_CAFILE")
    topic_prefix: str = Field(
        "", description="ECOM_TOPIC_PREFIX: prepended to every topic name (default empty)"
    )
    app_id: str = Field(
        "streamproc",
        description="ECOM_APP_ID: Faust application id: consumer group, changelog names",
    )
    topic_partitions: int = Field(
        8,
        ge=1,
        description="ECOM_TOPIC_PARTITIONS: partitions of every input topic and of every "
        "Faust changelog (they must agree); 8 lets up to 8 workers share the load",
    )
    topic_replication: int = Field(
        1,
        ge=1,
        description="ECOM_TOPIC_REPLICATION: replicas of every topic the project creates "
        "(inputs, dead letters, Faust changelogs); 1 on one broker, 3 on a cluster",
    )

    # --- HBase -------------------------------------------------------------------
    hbase_host: str = Field("127.0.0.1", description="ECOM_HBASE_HOST: HBase Thrift1 server")
    hbase_port: int = Field(9090, description="ECOM_HBASE_PORT")
    hbase_table_prefix: str = Field(
        "", description="ECOM_HBASE_TABLE_PREFIX: prepended to every table name (default empty)"
    )
    hbase_max_pending_rows: int = Field(
        500_000,
        ge=1,
        description="ECOM_HBASE_MAX_PENDING_ROWS: rows the worker holds while HBase is down "
        "or stalled before its agents wait (the tables keep going until then)",
    )
    hbase_writers: int = Field(
        2,
        ge=1,
        le=64,
        description="ECOM_HBASE_WRITERS: HBase writes a worker keeps going at once, each "
        "with a thread and a Thrift connection of its own (a row always takes the same one)",
    )

    # --- web ports ---------------------------------------------------------------
    web_host: str = Field("127.0.0.1", description="ECOM_WEB_HOST: bind address of web servers")
    web_port: int = Field(6066, description="ECOM_WEB_PORT: Faust worker web views")
    dashboard_port: int = Field(5006, description="ECOM_DASHBOARD_PORT: Bokeh server")

    # --- stream processor --------------------------------------------------------
    faust_store: Literal["memory://", "rocksdb://"] = Field(
        "memory://",
        description="ECOM_FAUST_STORE: table store, memory:// (default) or rocksdb://",
    )
    commit_interval: float = Field(
        1.0, gt=0, description="ECOM_COMMIT_INTERVAL: seconds between Kafka transactions"
    )
    low_stock_threshold: int = Field(
        10, ge=0, description="ECOM_LOW_STOCK_THRESHOLD: stock under this is reported"
    )
    park_timeout: float = Field(
        300.0,
        gt=0,
        description="ECOM_PARK_TIMEOUT: seconds an order waits for its customer or product "
        "before it goes to the dead-letter topic (the wait restarts when a worker takes "
        "its partition over)",
    )
    # 4,000: one worker drained 300,000 orders at 23,569/s (median of 24,756, 23,569,
    # 23,055) where 2,000 gave 21,117 and 22,977/s, 8,000 22,410/s (same stack, one
    # session): each partition's share of a batch is summed before its table writes
    batch_size: int = Field(
        4000, ge=1, description="ECOM_BATCH_SIZE: records an agent takes at a time"
    )
    transaction_timeout: float = Field(
        300.0,
        gt=0,
        le=900,
        description="ECOM_TRANSACTION_TIMEOUT: seconds a Kafka transaction may stay open; "
        "a commit waits for HBase, so this bounds the HBase outage a worker rides out "
        "(the broker's transaction.max.timeout.ms, 900 by default, is the ceiling)",
    )

    # --- directories -------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=lambda: Path("data").resolve(),
        description="ECOM_DATA_DIR: generated data and batch outputs (default ./data)",
    )
    state_dir: Path = Field(
        default_factory=lambda: Path("state").resolve(),
        description="ECOM_STATE_DIR: service data, logs, pid files, worker state (default ./state)",
    )
    cache_dir: Path = Field(
        default_factory=lambda: _home() / ".cache" / "streamproc",
        description="ECOM_CACHE_DIR: fetched jars, reused (default ~/.cache/streamproc)",
    )

    # --- stack -------------------------------------------------------------------
    stack_timeout: float = Field(
        120.0, gt=0, description="ECOM_STACK_TIMEOUT: seconds `stack up` waits for health"
    )
    java_home: Path | None = Field(
        None, description="ECOM_JAVA_HOME: JDK 17 (default: java on PATH)"
    )

    def topic(self, name: str) -> str:
        """Return the Kafka topic name for ``name`` with the configured prefix."""
        return f"{self.topic_prefix}{name}"

    def table_name(self, name: str) -> str:
        """Return the HBase table name for ``name`` with the configured prefix."""
        return f"{self.hbase_table_prefix}{name}"

    def faust_datadir(self) -> Path:
        """Return the worker's faust data directory (its RocksDB tables, if any).

        One per application and web port, so two workers on one host never share one.
        """
        return self.state_dir / "faust" / f"{self.app_id}-{self.web_port}"

    def faust_datadirs(self) -> list[Path]:
        """Return every faust data directory of this application on this host (any port).

        Only ``<app id>-<port>`` names match: the directories of an app id that merely
        starts with this one (``v1-bench`` for ``v1``) are another application's.
        """
        root = self.state_dir / "faust"
        return sorted(
            path
            for path in root.glob(f"{self.app_id}-*")
            if path.name.removeprefix(f"{self.app_id}-").isdigit()
        )

    def kafka_client_options(self) -> dict[str, object]:
        """Return kafka-python/aiokafka security keyword arguments for these settings."""
        if self.kafka_security == "plaintext":
            return {"security_protocol": "PLAINTEXT"}
        opts: dict[str, object] = {
            "security_protocol": (
                "SASL_SSL" if self.kafka_security == "sasl_ssl" else "SASL_PLAINTEXT"
            ),
            "sasl_mechanism": self.kafka_sasl_mechanism,
            "sasl_plain_username": self.kafka_sasl_username,
            "sasl_plain_password": (
                self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
            ),
        }
        if self.kafka_ssl_cafile:
            opts["ssl_cafile"] = str(self.kafka_ssl_cafile)
        return opts

    def faust_credentials(self) -> object | None:
        """Return Faust broker credentials for SASL, or None for plaintext."""
        if self.kafka_security == "plaintext":
            return None
        import faust

        return faust.SASLCredentials(
            username=self.kafka_sasl_username,
            password=(
                self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
            ),
            mechanism=self.kafka_sasl_mechanism,
        )

    def describe(self) -> dict[str, str]:
        """Return every setting as text, secrets masked, for printing."""
        return {name: str(value) for name, value in self}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
