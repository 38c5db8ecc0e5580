import pytest
from pydantic import ValidationError

from streamproc.settings import Settings


def test_defaults_bind_to_loopback():
    s = Settings(_env_file=None)
    assert s.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert (s.hbase_host, s.hbase_port) == ("127.0.0.1", 9090)
    assert (s.web_host, s.web_port, s.dashboard_port) == ("127.0.0.1", 6066, 5006)
    assert s.hbase_table_prefix == ""


def test_environment_overrides_with_prefix(monkeypatch):
    monkeypatch.setenv("ECOM_HBASE_PORT", "19090")
    monkeypatch.setenv("ECOM_HBASE_TABLE_PREFIX", "shop1_")
    s = Settings()
    assert s.hbase_port == 19090
    assert s.table_name("orders") == "shop1_orders"


def test_secret_is_masked_in_printout(monkeypatch):
    monkeypatch.setenv("ECOM_KAFKA_SECURITY", "sasl")
    monkeypatch.setenv("ECOM_KAFKA_SASL_USERNAME", "shop")
    monkeypatch.setenv("ECOM_KAFKA_SASL_PASSWORD", "hunter2-secret")
    s = Settings()
    assert "hunter2-secret" not in repr(s)
    assert "hunter2-secret" not in str(s.describe())
    assert s.kafka_client_options()["sasl_plain_password"] == "hunter2-secret"
    assert s.kafka_client_options()["security_protocol"] == "SASL_PLAINTEXT"


def test_settings_are_frozen():
    s = Settings()
    with pytest.raises(ValidationError):
        s.hbase_port = 1  # type: ignore[misc]


def test_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("ECOM_KAFKA_SECURITY", "tls-please")
    with pytest.raises(ValidationError, match="kafka_security"):
        Settings()


def test_faust_datadirs_are_this_apps_only(tmp_path):
    s = Settings(_env_file=None, state_dir=tmp_path, app_id="v1", web_port=6066)
    root = tmp_path / "faust"
    for name in ("v1-6066", "v1-6067", "v1-bench-6066", "v10-6066", "v1-x"):
        (root / name).mkdir(parents=True)
    assert s.faust_datadir() == root / "v1-6066"
    assert s.faust_datadirs() == [root / "v1-6066", root / "v1-6067"]
