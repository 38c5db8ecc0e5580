"""The SASL/SCRAM profile: a broker started with ``ECOM_KAFKA_SECURITY=sasl`` serves the
project's producer and worker with the credentials from the settings, refuses a client
without them or with a wrong password, and no log or config printout shows the password.

The broker is a second one, on ports 19092/19093 with a state dir of its own, so the
session's plaintext broker goes on serving the other tests.
"""

from __future__ import annotations

import secrets
import time

import pytest
from kafka import KafkaConsumer
from kafka.errors import KafkaError
from pydantic import SecretStr

from stack import process
from stack.services import kafka
from streamproc.generator import generate
from streamproc.producer import Topics, directory_feed, make_producer, produce
from streamproc.supervise import start_worker, stop_worker, wait_ready
from tests.integration import stream_harness as h
from tests.reliability.figures import record

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

USER = "streamproc"


def _metadata(settings, **options) -> None:
    """Ask the broker for its topics with ``options``; raise when refused."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=8_000,
        **options,
    )
    try:
        consumer.topics()
    finally:
        consumer.close()


def _refused(settings, **options) -> str:
    """Return the error a client with ``options`` gets; fail when it gets through."""
    try:
        _metadata(settings, **options)
    except (KafkaError, OSError) as exc:
        return type(exc).__name__
    raise AssertionError(f"a client with {sorted(options)} was served")


def test_sasl_broker_serves_the_pipeline_with_credentials_only(stack, unique, tmp_path):
    password = secrets.token_urlsafe(18)
    secured = stack.model_copy(
        update={
            "state_dir": tmp_path / "state",
            "kafka_bootstrap_servers": "127.0.0.1:19092",
            "kafka_security": "sasl",
            "kafka_sasl_mechanism": "SCRAM-SHA-256",
            "kafka_sasl_username": USER,
            "kafka_sasl_password": SecretStr(password),
        }
    )
    assert password not in repr(secured) and password not in str(secured.describe())
    broker = kafka(secured)
    data = tmp_path / "shop"
    generate(5, 500, 100, 3_000, data, progress=False)
    want = h.expected_views(data, [])
    settings = h.isolated(secured, unique, park_timeout=30.0, web_port=6178)
    proc = None
    try:
        t0 = time.monotonic()
        process.start(broker, secured)
        process.wait_healthy(broker, secured, time.monotonic() + secured.stack_timeout)
        start_s = time.monotonic() - t0
        server = broker.conf_dir(secured) / "server.properties"
        assert "SASL_PLAINTEXT://127.0.0.1:19092" in server.read_text()
        assert server.stat().st_mode & 0o077 == 0  # the broker's password: owner only

        # clients without the credentials, or with a wrong password, are refused
        no_credentials = _refused(secured, security_protocol="PLAINTEXT")
        wrong_password = _refused(
            secured,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-256",
            sasl_plain_username=USER,
            sasl_plain_password=password + "x",
        )
        _metadata(secured, **secured.kafka_client_options())  # and the settings' are taken
        # the broker says why (kafka-python itself only times out)
        broker_log = (broker.log_dir(secured) / "server.log").read_text(errors="replace")
        refusals = {
            "no SASL handshake": broker_log.count("during SASL handshake"),
            "invalid credentials": broker_log.count("due to invalid credentials"),
        }
        assert all(refusals.values()), refusals

        # the topics, the project's producer and a worker, all with the settings' credentials
        h.create(settings)
        proc = start_worker(settings, tmp_path / "worker.log", loglevel="info")
        wait_ready(settings, proc, timeout=180)
        kafka_producer = make_producer(settings)
        try:
            delivery = produce(
                kafka_producer,
                directory_feed(data),
                Topics.prefixed(settings.topic_prefix),
                stock_interval=0,
            )
        finally:
            kafka_producer.close(timeout=30)
        total = want["revenue"]["orders"]
        h.wait_for(settings, total, want["revenue"]["rejected"], timeout=300)
        got = h.actual_views(settings)
        logs = [tmp_path / "worker.log", *broker.log_dir(secured).glob("*")]
        leaked = [p.name for p in logs if p.is_file() and password in p.read_text(errors="replace")]
        record(
            stack,  # the session's state dir, where the report reads the figures
            "sasl",
            broker_start_s=round(start_s, 1),
            client_without_credentials=f"refused ({no_credentials})",
            client_with_wrong_password=f"refused ({wrong_password})",
            broker_log_failed_authentications=refusals,
            orders_sent=delivery.sent[settings.topic("orders")],
            producer_failed=delivery.failed,
            orders_expected=total,
            orders_counted=got["revenue"]["orders"],
            logs_with_the_password=len(leaked),
            lost=max(0, total - got["revenue"]["orders"]),
            doubled=max(0, got["revenue"]["orders"] - total),
        )
        assert delivery.failed == 0
        h.assert_views_match(got, want)
        assert leaked == []
    finally:
        if proc is not None:
            stop_worker(proc)
        if process.read_pid(broker, secured) is not None:
            h.destroy(settings)
        process.stop(broker, secured)
