"""The local stack: Apache Kafka (KRaft), Apache HBase + Thrift1, and Hadoop jars.

Jars come from Maven Central (poms in ``stack/poms``), services run as plain JVM
processes bound to 127.0.0.1 with their data, logs and pid files under the state
directory.  Driven by ``streamproc stack up|down|status|reset``.
"""
