"""Real-time e-commerce analytics: Kafka in, Faust tables, HBase rows, JSON web views."""

__version__ = "0.1.0"
