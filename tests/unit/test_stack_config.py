"""The generated service configs bind to loopback and keep data under the state dir."""

import xml.etree.ElementTree as ET

import pytest

from stack import jars, services
from stack.exceptions import StackError
from streamproc.settings import Settings


def _props(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _kafka_server_properties(s):
    """Write the broker's config for settings ``s``; return server.properties."""
    service = services.kafka(s)
    conf = service.conf_dir(s)
    conf.mkdir(parents=True)
    service.write_config(s, conf)
    return conf / "server.properties"


def test_kafka_config_is_kraft_on_loopback(tmp_path):
    s = Settings(state_dir=tmp_path)
    props = _props(_kafka_server_properties(s))
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["log.dirs"].startswith(str(tmp_path))
    assert props["num.partitions"] == str(s.topic_partitions)
    # aiokafka's produce version gets KIP-890's verification errors as NOT_ENOUGH_REPLICAS
    assert props["transaction.partition.verification.enable"] == "false"


def test_hbase_config_is_standalone_on_loopback(tmp_path):
    s = Settings(state_dir=tmp_path)
    service = services.hbase_master(s)
    conf = service.conf_dir(s)
    conf.mkdir(parents=True)
    service.write_config(s, conf)
    root = ET.parse(conf / "hbase-site.xml").getroot()
    props = {p.findtext("name"): p.findtext("value") for p in root.iter("property")}
    assert props["hbase.cluster.distributed"] == "false"
    assert props["hbase.rootdir"] == (tmp_path / "hbase" / "data").as_uri()
    binds = [v for k, v in props.items() if k.endswith(("bindAddress", "ipc.address"))]
    assert binds and set(binds) == {"127.0.0.1"}


def test_every_service_port_is_distinct():
    s = Settings()
    ports = [p for svc in services.all_services(s) for p in svc.ports.values()]
    assert len(ports) == len(set(ports))


def test_lib_dir_changes_with_the_pom(tmp_path):
    a = jars.lib_dir(tmp_path, "kafka")
    assert a == jars.lib_dir(tmp_path, "kafka")
    assert a != jars.lib_dir(tmp_path, "hbase")
    assert not jars.is_fetched(tmp_path, "kafka")


def test_kafka_sasl_profile_has_a_scram_listener_only(tmp_path):
    s = Settings(
        state_dir=tmp_path,
        kafka_security="sasl",
        kafka_sasl_username="shop",
        kafka_sasl_password='p"w\\d',
    )
    server = _kafka_server_properties(s)
    props = _props(server)
    assert props["listeners"] == "SASL_PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["inter.broker.listener.name"] == "SASL_PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-256"
    jaas = props["listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config"]
    assert jaas.endswith('username="shop" password="p\\"w\\\\d";')
    assert server.stat().st_mode & 0o077 == 0
    assert props["log.dirs"] == str(tmp_path / "kafka" / "data-sasl")


def test_kafka_sasl_profile_names_missing_credentials(tmp_path):
    s = Settings(state_dir=tmp_path, kafka_security="sasl", kafka_sasl_username="shop")
    with pytest.raises(StackError, match="ECOM_KAFKA_SASL_PASSWORD"):
        _kafka_server_properties(s)
