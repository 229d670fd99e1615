// JSON Schema to GBNF: a grammar whose sentences are the JSON texts a schema accepts, so
// constrained sampling writes output that parses and validates.
//
// Supported: `type` (one or a list), `properties` / `required` / `additionalProperties`,
// `enum`, `const`, `items` / `prefixItems` with `minItems` / `maxItems`, `minLength` /
// `maxLength`, `anyOf` / `oneOf`, `allOf` of object schemas, `$ref` to local definitions
// (`#/$defs/...`, `#/definitions/...`, recursion allowed), and the string formats `date`,
// `time`, `date-time` and `uuid` (other formats are annotations, as in JSON Schema 2020-12).
// Properties come in the order the schema lists them. A keyword that would constrain
// values in a way the grammar cannot express (`pattern`, `minimum`, ...) is an error that
// names it and where it is, never silently dropped.
#pragma once

#include <string>
#include <string_view>

#include "core/expected.h"

namespace mx {

// `schema_json` is the schema as JSON text.
Expected<std::string> json_schema_to_gbnf(std::string_view schema_json);

// Any JSON object: OpenAI's "JSON mode" (response_format json_object).
std::string json_object_gbnf();

}  // namespace mx
