// Python's str() and repr() of template values: what `{{ x }}`, `~`, `| string` and `| join`
// print. A list prints as ['a', 'b'], True as True, None as None, 0.1 + 0.2 as
// 0.30000000000000004.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

// str(v). Fails where the reference would print a memory address (generators, functions)
// and for values nested too deeply (a namespace that contains itself).
Expected<std::string> to_str(const Value& v);
// repr(v).
Expected<std::string> to_repr(const Value& v);

// repr(float): shortest round-trip digits, "1.0", "1e-05", "1e+16", "inf", "nan".
std::string float_repr(double d);
// repr(str): quotes and escapes as CPython chooses them.
std::string string_repr(std::string_view s);
// markupsafe.escape: & < > ' " as HTML entities (what Markup does to plain strings it meets).
std::string html_escape(std::string_view s);
// Jinja's object_type_repr, used in "'dict object' has no attribute 'x'".
std::string object_type_repr(const Value& v);

}  // namespace mx::chat
