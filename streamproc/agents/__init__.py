"""The Faust agents, one module each; they import tables and topics, never the reverse."""
