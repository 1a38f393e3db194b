"""The contracts every part of hopnhat shares.

`schema.events` holds the typed messages on the topics (CloudEvents envelope, canonical event,
golden profile, DLQ record); `schema.tables` the PostgreSQL tables; `schema.migrations` the Alembic
history; `schema/jsonschema/` one JSON Schema per topic, generated from the models
(`python -m schema.export`) and checked in so consumers in other languages can rely on them.
"""
