"""Contracts: checked-in JSON Schemas match the models; resolver stays pure; registry stays lazy."""

import subprocess
import sys

from schema.export import JSONSCHEMA_DIR, render_schemas


def test_checked_in_json_schemas_match_the_models() -> None:
    rendered = render_schemas()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in JSONSCHEMA_DIR.glob("*.json")}
    assert set(on_disk) == set(rendered), "run `python -m schema.export`"
    for name, text in rendered.items():
        assert on_disk[name] == text, f"schema/jsonschema/{name} drifted from the model: run `python -m schema.export`"


def _modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_resolver_loads_no_kafka_or_database_client() -> None:
    loaded = _modules_loaded_by("import resolver.plan, resolver.normalise, resolver.profile")
    for heavy in ("faust", "aiokafka", "kafka", "sqlalchemy", "psycopg"):
        assert heavy not in loaded, f"resolver imported {heavy}"


def test_importing_connectors_loads_no_channel_module() -> None:
    loaded = _modules_loaded_by("import connectors")
    assert not any(m.startswith("connectors.") for m in loaded)
