// Python's object protocol as the sandboxed Jinja environment applies it: attribute and
// item lookup (each falling back to the other), slicing, iteration, len() and `in`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

// `obj.name`: the attribute first (methods, loop fields, namespace attributes), then the
// item. Missing gives an Undefined; using an Undefined's attribute is an error.
Expected<Value> get_attr(const Value& obj, const std::string& name);
// `obj[key]`: the item first, then (for string keys) the attribute.
Expected<Value> get_item(const Value& obj, const Value& key);
// `obj[start:stop:step]`; null bounds are none.
Expected<Value> get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// iter(v), materialised. Consumes generators. Undefined iterates as empty.
Expected<std::vector<Value>> iterate(const Value& v);
// len(v)
Expected<int64_t> length(const Value& v);
// `item in container`
Expected<bool> contains(const Value& container, const Value& item);

}  // namespace mx::chat
