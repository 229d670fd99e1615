// Internal: the filter functions, split over filters.cpp (strings, numbers, JSON) and
// filters_seq.cpp (sequences), and the attribute getter both use.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "chat/runtime.h"
#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat::filters {

using FilterFn = Expected<Value> (*)(const Value& v, const CallArgs& c, const RenderEnv& env);

// Jinja's make_attrgetter: "a.b.0" looked up item by item (digits as integers); an
// Undefined result becomes `fallback` when one is given.
Expected<Value> get_attribute_path(const Value& item, const Value& attribute, const std::optional<Value>& fallback);

Expected<Value> length(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> list(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> first(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> last(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> join(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> items(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> reverse(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> sort(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> dictsort(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> unique(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> min(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> max(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> map(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> select(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> reject(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> selectattr(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> rejectattr(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> batch(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> slice(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> sum(const Value& v, const CallArgs& c, const RenderEnv& env);
Expected<Value> groupby(const Value& v, const CallArgs& c, const RenderEnv& env);

}  // namespace mx::chat::filters
