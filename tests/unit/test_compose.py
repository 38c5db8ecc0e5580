"""docker/compose.yaml: a valid file whose project services match the settings object.

With a `docker` client that has `compose`, `docker compose config` validates the whole
file (interpolation, merge keys, schema). Without one (this machine), the YAML is read
with PyYAML and checked against :class:`streamproc.settings.Settings`.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from streamproc.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
INTERPOLATION = re.compile(r"\$\{(\w+)(:?[-?+])?([^}]*)\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$", re.IGNORECASE)
# quoted values in a JAAS line (password="..." user_x="...") and passwords in URLs
JAAS_SECRET = re.compile(r'\b(password|user_\w+)="([^"]*)"')
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")
# variables a secret may come from: set in docker/.env, never given a default
SECRETS_FROM_ENV_FILE = {
    "KAFKA_BROKER_PASSWORD",
    "ECOM_KAFKA_SASL_PASSWORD",
    "AIRFLOW_DB_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
}


def _compose_client() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


def _dummy_env() -> dict[str, str]:
    return {name: "x" for name in SECRETS_FROM_ENV_FILE}


def _interpolate(value: str) -> str:
    """Resolve ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?err}`` as compose would."""

    def one(match: re.Match) -> str:
        name, op, arg = match.groups()
        if name in SECRETS_FROM_ENV_FILE:
            return "x"
        return arg if op in (":-", "-") else ""

    return INTERPOLATION.sub(one, value.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    doc = yaml.safe_load(COMPOSE.read_text())
    return doc["services"]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _ecom(service: dict) -> dict[str, str]:
    return {k: _interpolate(v) for k, v in _env(service).items() if k.startswith("ECOM_")}


def _settings(service: dict, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Return the Settings a container of ``service`` would build from its environment."""
    with monkeypatch.context() as m:
        for name in Settings.model_fields:
            m.delenv(f"ECOM_{name.upper()}", raising=False)
        for key, value in _ecom(service).items():
            m.setenv(key, value)
        return Settings()


def _published(service: dict) -> list[tuple[str, str, str]]:
    """Return ``(host_ip, host_port, container_port)`` of each published port."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append(
                (str(port.get("host_ip", "")), str(port.get("published", "")), str(port["target"]))
            )
            continue
        parts = str(port).split(":")
        if len(parts) == 3:
            out.append((parts[0], parts[1], parts[2]))
        else:  # "8080" or "8080:8080": every interface
            out.append(("", parts[0], parts[-1]))
    return out


def _project_services(services: dict) -> dict[str, dict]:
    return {name: svc for name, svc in services.items() if _ecom(svc)}


def _named(services: dict, pattern: str) -> list[str]:
    return [name for name in services if re.fullmatch(pattern, name)]


@pytest.mark.skipif(not _compose_client(), reason="no docker client with the compose plugin")
def test_docker_compose_config_accepts_the_file(tmp_path):
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in _dummy_env().items()))
    proc = subprocess.run(
        ["docker", "compose", "--env-file", str(env_file), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_service_has_an_image_or_a_build(services):
    missing = [name for name, svc in services.items() if not (svc.get("image") or svc.get("build"))]
    assert missing == []


def test_engines_run_the_versions_of_the_local_stack(services):
    assert {services[n]["image"] for n in _named(services, r"kafka-\d+")} == {"apache/kafka:3.9.1"}
    assert services["spark-master"]["image"] == "apache/spark:4.0.1"
    for name in ("namenode", "resourcemanager", *_named(services, r"datanode-\d+")):
        assert services[name]["image"].startswith("apache/hadoop:3")


def test_cluster_sizes(services):
    assert len(_named(services, r"kafka-\d+")) == 3
    assert len(_named(services, r"hbase-regionserver-\d+")) == 2
    assert {"hbase-master", "hbase-thrift", "zookeeper"} <= services.keys()
    assert len(_named(services, r"datanode-\d+")) >= 2
    assert len(_named(services, r"nodemanager-\d+")) >= 2
    assert len(_named(services, r"spark-worker-\d+")) >= 2
    assert {"namenode", "resourcemanager", "spark-master", "airflow-scheduler"} <= services.keys()
    assert {"init", "worker", "dashboard"} <= services.keys()


def test_kafka_nodes_form_one_kraft_quorum(services):
    nodes = _named(services, r"kafka-\d+")
    voters = {_env(services[n])["KAFKA_CONTROLLER_QUORUM_VOTERS"] for n in nodes}
    assert len(voters) == 1
    ids = {_env(services[n])["KAFKA_NODE_ID"] for n in nodes}
    assert len(ids) == 3
    assert {v.split("@")[0] for v in voters.pop().split(",")} == ids


def test_every_ecom_variable_is_a_setting(services):
    unknown = {
        f"{name}: {key}"
        for name, svc in services.items()
        for key in _ecom(svc)
        if key[len("ECOM_") :].lower() not in Settings.model_fields
    }
    assert unknown == set()


def test_project_containers_build_valid_settings(services, monkeypatch):
    for svc in _project_services(services).values():
        _settings(svc, monkeypatch)  # raises on a value the settings refuse


def test_project_commands_use_the_project_image(services):
    image = services["init"]["image"]
    assert services["init"]["command"] == ["init"]
    assert services["worker"]["image"] == image
    assert "streamproc worker" in " ".join(services["worker"]["entrypoint"])
    assert services["dashboard"]["image"] == image
    assert services["dashboard"]["command"][0] == "dashboard"


def test_worker_scales_and_listens_on_its_web_port(services, monkeypatch):
    worker = services["worker"]
    settings = _settings(worker, monkeypatch)
    assert int(_interpolate(str(worker["deploy"]["replicas"]))) >= 2
    # the web host is the container's own address: peers fan out to it
    assert "ECOM_WEB_HOST" not in _ecom(worker)
    assert "export ECOM_WEB_HOST=" in " ".join(worker["entrypoint"])
    targets = {target for _, _, target in _published(worker)}
    assert targets == {str(settings.web_port)}
    dashboard = services["dashboard"]["command"]
    assert dashboard[dashboard.index("--worker-url") + 1] == f"http://worker:{settings.web_port}"


def test_dashboard_binds_all_interfaces_inside_on_its_port(services, monkeypatch):
    dashboard = services["dashboard"]
    settings = _settings(dashboard, monkeypatch)
    assert settings.web_host == "0.0.0.0"  # noqa: S104 - inside its own container
    assert {target for _, _, target in _published(dashboard)} == {str(settings.dashboard_port)}


def test_kafka_bootstrap_servers_are_the_brokers_listeners(services, monkeypatch):
    brokers = {}
    for name in _named(services, r"kafka-\d+"):
        env = _env(services[name])
        advertised = dict(
            listener.split("://", 1) for listener in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
        )
        brokers[name] = advertised[env["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    for svc in _project_services(services).values():
        servers = _settings(svc, monkeypatch).kafka_bootstrap_servers.split(",")
        assert sorted(servers) == sorted(brokers.values())
        assert all(s.endswith(":9092") for s in servers)  # the settings' default port


def test_hbase_thrift_is_where_the_settings_point(services, monkeypatch):
    thrift = services["hbase-thrift"]
    port = thrift["command"][thrift["command"].index("-p") + 1]
    assert port == str(Settings().hbase_port) == "9090"
    for svc in _project_services(services).values():
        settings = _settings(svc, monkeypatch)
        assert settings.hbase_host == "hbase-thrift"
        assert str(settings.hbase_port) == port


def test_every_published_port_binds_loopback(services):
    exposed = {
        f"{name}: {host_ip or '*'}:{published}"
        for name, svc in services.items()
        for host_ip, published, _ in _published(svc)
        if host_ip != "127.0.0.1"
    }
    assert exposed == set()


def test_no_literal_secrets(services):
    problems = []
    for name, svc in services.items():
        for key, value in _env(svc).items():
            values = []
            if SECRET_NAME.search(key):
                values.append(value)
            values += [m.group(2) for m in JAAS_SECRET.finditer(value)]
            values += [m.group(1) for m in URL_PASSWORD.finditer(value)]
            for secret in values:
                found = INTERPOLATION.fullmatch(secret)
                if not (
                    found and found.group(2) == ":?" and found.group(1) in SECRETS_FROM_ENV_FILE
                ):
                    problems.append(f"{name}: {key}")
    assert problems == []


def test_env_example_lists_every_secret_empty():
    example = (COMPOSE.parent / ".env.example").read_text()
    entries = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert entries == dict.fromkeys(SECRETS_FROM_ENV_FILE, "")
    used = {m.group(1) for m in INTERPOLATION.finditer(COMPOSE.read_text())}
    assert SECRETS_FROM_ENV_FILE <= used


def test_project_topics_are_replicated_on_the_brokers(services, monkeypatch):
    brokers = [
        name for name, svc in services.items() if svc.get("image", "").startswith("apache/kafka")
    ]
    settings = _settings(services["worker"], monkeypatch)
    min_isr = int(_interpolate(_env(services[brokers[0]])["KAFKA_MIN_INSYNC_REPLICAS"]))
    assert len(brokers) == 3
    assert settings.topic_replication == 3
    # one broker down still leaves enough in-sync replicas to write
    assert 1 <= min_isr <= settings.topic_replication - 1
    assert _settings(services["init"], monkeypatch).topic_replication == 3
