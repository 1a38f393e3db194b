"""The identity engine as pure code: normalisers, match keys and the resolution plan.

No Kafka, no database in here (a test checks that importing `resolver` loads neither faust,
aiokafka, SQLAlchemy nor psycopg). `streams/` and the bulk path call these functions and apply the
plans they return.
"""
