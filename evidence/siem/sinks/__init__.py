"""SIEM destinations, one module each: `ndjson` (a local file), `elasticsearch` (a data
stream; its index template in `es_template`), `hec` (Splunk HTTP Event Collector) and
`syslog` (RFC 5424 over TCP, TLS or UDP). `base` holds what they all implement."""
