"""The services of the local stack and how each is configured, started and checked.

A :class:`Service` is a JVM process: a main class over a cached classpath, config
files written under ``<state>/<service>/conf``, logs under ``<state>/<service>/logs``,
a pid file, the ports it binds (all on 127.0.0.1) and a health check that speaks the
service's own protocol.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stack import jars
from streamproc.settings import Settings

# The flags `bin/hbase` adds on Java 17 (hbase-surefire.jdk17.flags).
JDK17_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in (
        "java.lang",
        "java.lang.reflect",
        "java.lang.invoke",
        "java.nio",
        "sun.nio.ch",
        "java.util",
        "java.util.concurrent",
        "java.util.concurrent.atomic",
        "java.io",
        "java.net",
        "jdk.internal.misc",
        "sun.security.x509",
        "sun.security.util",
    )
] + [
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/sun.net.dns=ALL-UNNAMED",
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "-Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true",
]

ZOOKEEPER_PORT = 2181
HBASE_PORTS = {"master": 16000, "master-ui": 16010, "regionserver": 16020, "regionserver-ui": 16030}
THRIFT_INFO_PORT = 9095


@dataclass(frozen=True)
class Service:
    """One process of the stack."""

    name: str
    component: str  # which jar set of stack/poms it runs on
    main_class: str
    args: tuple[str, ...]
    ports: dict[str, int]
    health: Callable[[Settings, float], None]  # raises on unhealthy
    jvm_opts: tuple[str, ...] = ()
    write_config: Callable[[Settings, Path], None] = lambda settings, conf: None
    prepare: Callable[[Settings, Service], None] | None = None
    extra_cp: tuple[str, ...] = field(default=("conf",))

    def home(self, settings: Settings) -> Path:
        """Return the service's directory under the state dir."""
        return settings.state_dir / self.name

    def conf_dir(self, settings: Settings) -> Path:
        """Return where the service's config files are written."""
        return self.home(settings) / "conf"

    def log_dir(self, settings: Settings) -> Path:
        """Return where the service's logs go."""
        return self.home(settings) / "logs"

    def log_file(self, settings: Settings) -> Path:
        """Return the file that collects the process's stdout and stderr."""
        return self.log_dir(settings) / f"{self.name}.out"

    def pid_file(self, settings: Settings) -> Path:
        """Return the service's pid file."""
        return self.home(settings) / f"{self.name}.pid"

    @property
    def main_port(self) -> int:
        """Return the port clients use."""
        return next(iter(self.ports.values()))


# --- Kafka --------------------------------------------------------------------


def _kafka_host_port(settings: Settings) -> tuple[str, int]:
    first = settings.kafka_bootstrap_servers.split(",")[0]
    host, _, port = first.rpartition(":")
    return host or "127.0.0.1", int(port)


def _kafka_controller_port(settings: Settings) -> int:
    """Return the KRaft controller's port: the broker's + 1 (9093 by default)."""
    return _kafka_host_port(settings)[1] + 1


def _kafka_data(settings: Settings) -> Path:
    """Return the broker's log dir; the SASL profile keeps its own (its users live there)."""
    name = "data" if settings.kafka_security == "plaintext" else "data-sasl"
    return settings.state_dir / "kafka" / name


def _kafka_sasl(settings: Settings) -> tuple[str, str, str]:
    """Return the SASL mechanism, user and password of the local broker's SCRAM profile."""
    from stack.exceptions import StackError

    if settings.kafka_security == "sasl_ssl":
        raise StackError(
            "ECOM_KAFKA_SECURITY=sasl_ssl: the local stack serves plaintext or sasl "
            "(SASL/SCRAM on loopback); sasl_ssl needs certificates, see docker/"
        )
    if not settings.kafka_sasl_mechanism.startswith("SCRAM-"):
        raise StackError(
            f"ECOM_KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism}: the local broker "
            "supports SCRAM-SHA-256 or SCRAM-SHA-512"
        )
    password = settings.kafka_sasl_password
    if not settings.kafka_sasl_username or password is None or not password.get_secret_value():
        raise StackError(
            "ECOM_KAFKA_SECURITY=sasl needs ECOM_KAFKA_SASL_USERNAME and "
            "ECOM_KAFKA_SASL_PASSWORD (the broker's SCRAM user, created at first start)"
        )
    return settings.kafka_sasl_mechanism, settings.kafka_sasl_username, password.get_secret_value()


def _jaas_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _kafka_listener_props(settings: Settings) -> dict[str, str]:
    """Return the listener settings: PLAINTEXT, or SASL_PLAINTEXT with SCRAM users."""
    host, port = _kafka_host_port(settings)
    controller = f"CONTROLLER://127.0.0.1:{_kafka_controller_port(settings)}"
    if settings.kafka_security == "plaintext":
        return {
            "listeners": f"PLAINTEXT://{host}:{port},{controller}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        }
    mechanism, user, password = _kafka_sasl(settings)
    login = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f"username={_jaas_quote(user)} password={_jaas_quote(password)};"
    )
    return {
        "listeners": f"SASL_PLAINTEXT://{host}:{port},{controller}",
        "advertised.listeners": f"SASL_PLAINTEXT://{host}:{port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": mechanism,
        "sasl.mechanism.inter.broker.protocol": mechanism,
        f"listener.name.sasl_plaintext.{mechanism.lower()}.sasl.jaas.config": login,
    }


def _kafka_config(settings: Settings, conf: Path) -> None:
    data = _kafka_data(settings)
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{_kafka_controller_port(settings)}",
        "controller.listener.names": "CONTROLLER",
        **_kafka_listener_props(settings),
        "log.dirs": str(data),
        "num.partitions": str(settings.topic_partitions),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "8",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "delete.topic.enable": "true",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "log.retention.hours": "-1",
        "log.retention.bytes": "-1",
        # one node is both broker and controller: on a loaded laptop a late heartbeat
        # must not fence the broker from itself (default 9 s), which takes every
        # partition offline (NOT_ENOUGH_REPLICAS) until the next heartbeat
        "broker.session.timeout.ms": "60000",
        "broker.heartbeat.interval.ms": "2000",
        # KIP-890's check that a transactional write's partition is in the transaction:
        # aiokafka adds every partition before it writes (AddPartitionsToTxn), and its
        # produce version is too old for the check's retriable errors, which the broker
        # then sends as NOT_ENOUGH_REPLICAS; a worker restarted after SIGKILL got those
        # on its changelogs and then stopped for good in one full-suite run
        "transaction.partition.verification.enable": "false",
    }
    server = conf / "server.properties"
    server.touch(mode=0o600)  # the SASL profile writes the broker's password into it
    server.chmod(0o600)
    server.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    logs = settings.state_dir / "kafka" / "logs"
    (conf / "log4j.properties").write_text(
        "\n".join(
            [
                "log4j.rootLogger=INFO, file",
                "log4j.appender.file=org.apache.log4j.RollingFileAppender",
                f"log4j.appender.file.File={logs}/server.log",
                "log4j.appender.file.MaxFileSize=50MB",
                "log4j.appender.file.MaxBackupIndex=3",
                "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
                "log4j.logger.kafka=INFO",
                "log4j.logger.org.apache.kafka=INFO",
                "log4j.logger.state.change.logger=WARN",
                "log4j.logger.kafka.request.logger=WARN",
                "",
            ]
        )
    )


def _kafka_prepare(settings: Settings, service: Service) -> None:
    """Format the KRaft storage once (``kafka.tools.StorageTool``).

    The SASL profile's SCRAM user is added here: in KRaft the users live in the
    cluster metadata.
    """
    import subprocess

    from stack.process import java_bin

    data = _kafka_data(settings)
    if (data / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    conf = service.conf_dir(settings)
    cmd = [
        java_bin(settings),
        f"-Dlog4j.configuration=file:{conf}/log4j.properties",
        "-cp",
        jars.classpath(settings.cache_dir, "kafka"),
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={cluster_id}",  # an id may begin with "-": argparse took it for a flag
        "-c",
        str(conf / "server.properties"),
    ]
    secret = None
    if settings.kafka_security != "plaintext":
        mechanism, user, secret = _kafka_sasl(settings)
        cmd += ["--add-scram", f"{mechanism}=[name={user},password={secret}]"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        from stack.exceptions import StackError

        out = f"{proc.stdout}{proc.stderr}"
        raise StackError(
            "kafka storage format failed:\n" + (out.replace(secret, "***") if secret else out)
        )


def _kafka_health(settings: Settings, timeout: float) -> None:
    """Send a metadata request with kafka-python; raise when the broker does not answer."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=max(int(timeout * 1000), 2000),
        enable_auto_commit=False,
        **settings.kafka_client_options(),
    )
    try:
        consumer.topics()
    finally:
        consumer.close()


def kafka(settings: Settings) -> Service:
    """Return the Kafka broker + controller (KRaft, one node)."""
    _, port = _kafka_host_port(settings)
    return Service(
        name="kafka",
        component="kafka",
        main_class="kafka.Kafka",
        args=("conf/server.properties",),
        ports={"broker": port, "controller": _kafka_controller_port(settings)},
        health=_kafka_health,
        jvm_opts=(
            "-Xms512m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-Djava.awt.headless=true",
            "-Dlog4j.configuration=file:conf/log4j.properties",
            "-Dkafka.logs.dir=logs",
        ),
        write_config=_kafka_config,
        prepare=_kafka_prepare,
    )


# --- HBase --------------------------------------------------------------------


def _xml_config(props: dict[str, str]) -> str:
    from xml.sax.saxutils import escape

    body = "".join(
        f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>\n"
        for k, v in props.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


def _hbase_config(settings: Settings, conf: Path) -> None:
    home = settings.state_dir / "hbase"
    props = {
        "hbase.cluster.distributed": "false",
        "hbase.rootdir": (home / "data").as_uri(),
        "hbase.tmp.dir": str(home / "tmp"),
        "hbase.zookeeper.quorum": "127.0.0.1",
        "hbase.zookeeper.property.clientPort": str(ZOOKEEPER_PORT),
        "hbase.zookeeper.property.clientPortAddress": "127.0.0.1",
        "hbase.zookeeper.property.dataDir": str(home / "zookeeper"),
        "hbase.unsafe.stream.capability.enforce": "false",
        "hbase.wal.provider": "filesystem",
        "hbase.master.ipc.address": "127.0.0.1",
        "hbase.regionserver.ipc.address": "127.0.0.1",
        "hbase.master.hostname": "localhost",
        "hbase.unsafe.regionserver.hostname": "localhost",
        "hbase.master.port": str(HBASE_PORTS["master"]),
        "hbase.master.info.port": str(HBASE_PORTS["master-ui"]),
        "hbase.master.info.bindAddress": "127.0.0.1",
        "hbase.regionserver.port": str(HBASE_PORTS["regionserver"]),
        "hbase.regionserver.info.port": str(HBASE_PORTS["regionserver-ui"]),
        "hbase.regionserver.info.bindAddress": "127.0.0.1",
        "hbase.thrift.info.bindAddress": "127.0.0.1",
        "hbase.thrift.info.port": str(THRIFT_INFO_PORT),
        "hbase.regionserver.thrift.framed": "false",
        "hbase.regionserver.thrift.compact": "false",
        "hbase.thrift.server.socket.read.timeout": "600000",
        "hbase.client.retries.number": "10",
        "zookeeper.session.timeout": "60000",
    }
    (conf / "hbase-site.xml").write_text(_xml_config(props))


def _log4j2(log_file: Path) -> str:
    return "\n".join(
        [
            "status = warn",
            "appender.file.type = RollingFile",
            "appender.file.name = file",
            f"appender.file.fileName = {log_file}",
            f"appender.file.filePattern = {log_file}.%i",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = %d{ISO8601} %-5p [%t] %c{2}: %m%n",
            "appender.file.policies.type = Policies",
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
            "appender.file.policies.size.size = 50MB",
            "appender.file.strategy.type = DefaultRolloverStrategy",
            "appender.file.strategy.max = 3",
            "rootLogger = INFO, file",
            "logger.zookeeper.name = org.apache.zookeeper",
            "logger.zookeeper.level = WARN",
            "logger.hadoop.name = org.apache.hadoop",
            "logger.hadoop.level = WARN",
            "logger.hbase.name = org.apache.hadoop.hbase",
            "logger.hbase.level = INFO",
            "",
        ]
    )


def _hbase_master_config(settings: Settings, conf: Path) -> None:
    _hbase_config(settings, conf)
    (conf / "log4j2.properties").write_text(_log4j2(settings.state_dir / "hbase/logs/master.log"))


def _thrift_config(settings: Settings, conf: Path) -> None:
    _hbase_config(settings, conf)
    (conf / "log4j2.properties").write_text(
        _log4j2(settings.state_dir / "hbase-thrift/logs/thrift.log")
    )


def _hbase_health(settings: Settings, timeout: float) -> None:
    """Call Thrift ``getTableNames`` through happybase; raise when HBase does not answer."""
    import happybase

    conn = happybase.Connection(
        settings.hbase_host, settings.hbase_port, timeout=int(timeout * 1000), autoconnect=False
    )
    try:
        conn.open()
        conn.tables()
    finally:
        conn.close()


def _hbase_master_health(settings: Settings, timeout: float) -> None:
    """Check that ZooKeeper answers ``ruok`` and the master and region server accept."""
    import socket

    with socket.create_connection(("127.0.0.1", ZOOKEEPER_PORT), timeout=timeout) as sock:
        sock.sendall(b"ruok")
        if sock.recv(4) != b"imok":
            raise ConnectionError("ZooKeeper did not answer imok")
    socket.create_connection(("127.0.0.1", HBASE_PORTS["master"]), timeout=timeout).close()
    socket.create_connection(("127.0.0.1", HBASE_PORTS["regionserver"]), timeout=timeout).close()


_HBASE_JVM = (
    *JDK17_OPENS,
    "-XX:+UseG1GC",
    "-Djava.net.preferIPv4Stack=true",
    "-Dlog4j2.configurationFile=conf/log4j2.properties",
    "-Dzookeeper.4lw.commands.whitelist=ruok,srvr,stat",
)


def hbase_master(settings: Settings) -> Service:
    """Return the standalone HBase master (with its region server and ZooKeeper)."""
    return Service(
        name="hbase",
        component="hbase",
        main_class="org.apache.hadoop.hbase.master.HMaster",
        args=("start",),
        ports={"zookeeper": ZOOKEEPER_PORT, **HBASE_PORTS},
        health=_hbase_master_health,
        jvm_opts=("-Xms512m", "-Xmx1g", *_HBASE_JVM, "-Dhbase.log.dir=logs"),
        write_config=_hbase_master_config,
    )


def hbase_thrift(settings: Settings) -> Service:
    """Return the HBase Thrift1 server (buffered transport, binary protocol) for happybase."""
    return Service(
        name="hbase-thrift",
        component="hbase",
        main_class="org.apache.hadoop.hbase.thrift.ThriftServer",
        args=(
            "-b",
            settings.hbase_host,
            "-p",
            str(settings.hbase_port),
            "--infoport",
            str(THRIFT_INFO_PORT),
            "-threadpool",
            "start",
        ),
        ports={"thrift": settings.hbase_port, "thrift-ui": THRIFT_INFO_PORT},
        health=_hbase_health,
        jvm_opts=("-Xms128m", "-Xmx512m", *_HBASE_JVM, "-Dhbase.log.dir=logs"),
        write_config=_thrift_config,
    )


def all_services(settings: Settings) -> list[Service]:
    """Return the services in start order."""
    return [kafka(settings), hbase_master(settings), hbase_thrift(settings)]
