import json

from tests.conftest import CONTRACT

MATCH_SCHEMA = json.loads((CONTRACT / "match.schema.json").read_text())
EXAMPLE = CONTRACT / "examples" / "flows_example.csv"
