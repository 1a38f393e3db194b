"""Generate schema/jsonschema/*.json from the models: `python -m schema.export`.

The files are checked in; tests/unit/test_schema_drift.py fails when they differ from what the
models generate, so a model change and its published contract always travel together.
"""

from __future__ import annotations

import json
from pathlib import Path

from schema.events import TOPIC_MODELS

JSONSCHEMA_DIR = Path(__file__).parent / "jsonschema"


def render_schemas() -> dict[str, str]:
    """Return {file name: JSON text} for every topic contract."""
    out: dict[str, str] = {}
    for topic, model in TOPIC_MODELS.items():
        schema = model.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://hopnhat.dev/schema/{topic}.json"
        schema["x-topic"] = "raw.<channel>" if topic == "raw" else ("dlq.<stage>" if topic == "dlq" else topic)
        out[f"{topic}.json"] = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return out


def main() -> None:
    JSONSCHEMA_DIR.mkdir(exist_ok=True)
    for name, text in render_schemas().items():
        (JSONSCHEMA_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote schema/jsonschema/{name}")


if __name__ == "__main__":
    main()
