// Jinja's built-in filters (`x | name(args)`), with `tojson` as transformers overrides it:
// json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=...).
// Filters that return generators in Jinja (map, select, unique, items, batch, ...) return
// generator values here too, so `| length` on them fails and `| list` is needed, as in
// the reference.
#pragma once

#include <string_view>

#include "chat/runtime.h"
#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

// Every Jinja filter name, implemented or not (templates naming one still compile).
bool filter_exists(std::string_view name);
Expected<Value> apply_filter(std::string_view name, const Value& value, const CallArgs& call, const RenderEnv& env);

}  // namespace mx::chat
