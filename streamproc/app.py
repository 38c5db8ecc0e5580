"""The Faust application, and nothing else: ``faust -A streamproc.app worker``.

Agents, tables and web views register on :data:`app` from their own modules, found
by ``autodiscover``.  Every input topic and changelog has ``ECOM_TOPIC_PARTITIONS``
partitions, so Faust's assignor puts them in one co-partitioned group and each
partition's table writes, dead letters and offsets commit in one Kafka transaction
(``processing_guarantee="exactly_once"``).
"""

from __future__ import annotations

import logging
import shutil

import faust

from streamproc import diagnostics, faust_fixes, gcpacing
from streamproc.settings import get_settings

settings = get_settings()
faust_fixes.apply(transaction_timeout=settings.transaction_timeout)
# faust makes its datadir with a plain mkdir: a fresh ECOM_STATE_DIR failed the start
settings.faust_datadir().parent.mkdir(parents=True, exist_ok=True)
# aiokafka formats a debug record for every message it sends (about 7% of the
# worker's CPU in py-spy) unless its loggers are raised explicitly
for _name in ("aiokafka", "kafka"):
    logging.getLogger(_name).setLevel(logging.WARNING)

app = faust.App(
    settings.app_id,
    broker=[f"kafka://{hp}" for hp in settings.kafka_bootstrap_servers.split(",")],
    broker_credentials=settings.faust_credentials(),
    store=settings.faust_store,
    datadir=str(settings.faust_datadir()),
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=settings.topic_replication,
    processing_guarantee="exactly_once",
    producer_acks=-1,
    producer_linger_ms=5,
    producer_max_batch_size=1_048_576,
    producer_compression_type=None,
    broker_commit_interval=settings.commit_interval,
    broker_commit_every=100_000,
    stream_buffer_maxsize=65_536,
    consumer_auto_offset_reset="earliest",
    # a SIGKILLed worker's partitions move after 10 s, not faust's default 60 s
    broker_session_timeout=10.0,
    broker_heartbeat_interval=1.0,
    table_standby_replicas=0,
    web_enabled=True,
    web_bind=settings.web_host,
    web_host=settings.web_host,
    web_port=settings.web_port,
    web_in_thread=False,
    autodiscover=["streamproc.agents", "streamproc.views"],
    origin="streamproc",
)


@app.on_worker_init.connect
def _fresh_table_files(sender: faust.App, **_kwargs: object) -> None:
    """Start a worker without the RocksDB files of its last run.

    They may hold writes of a transaction that a crash aborted (see
    ``faust_fixes._revoke_partitions``); the tables are restored from the committed
    changelogs instead, as with the memory store.
    """
    shutil.rmtree(sender.conf.tabledir, ignore_errors=True)


@app.on_worker_init.connect
def _pace_collector(sender: faust.App, **_kwargs: object) -> None:
    """Leave the start-up's objects out of collections; full ones on a timer."""
    gcpacing.pace()


@app.on_worker_init.connect
def _dump_on_sigusr2(sender: faust.App, **_kwargs: object) -> None:
    """``kill -USR2 <pid>`` logs where every task waits (see :mod:`streamproc.diagnostics`)."""
    diagnostics.install()


@app.timer(gcpacing.FULL_EVERY)
async def _collect_fully() -> None:
    """Run the worker's full garbage collection (see :mod:`streamproc.gcpacing`)."""
    gcpacing.COLLECTOR.collect()


def main() -> None:
    """Run the worker (``streamproc worker``)."""
    app.main()
