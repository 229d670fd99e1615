"""Validates JSON documents against a JSON Schema with the reference validator
(python3-jsonschema): argv[1] the schema file, argv[2] one document per line.
Prints one line per document: "ok" or "bad: <reason>"."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1], encoding="utf-8"))
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
for line in open(sys.argv[2], encoding="utf-8"):
    try:
        errors = list(validator.iter_errors(json.loads(line)))
        print("ok" if not errors else "bad: " + errors[0].message)
    except json.JSONDecodeError as e:
        print("bad: does not parse: " + str(e))
