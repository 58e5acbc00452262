"""Events → SIEM documents: one module per format (ECS, OCSF, CEF), each with its `.sql`.

Every mapping reads the same batch of events, derived once in `batch.sql` (its shared
blocks are included by each mapping's query; see `evidence.sql`), so the formats agree on
what a batch holds and on how a malformed source record is tolerated.
"""
