// Methods templates call on values: str (strip, split, startswith, format, ...), dict
// (get, items, keys, values), list (count, index) and the loop object (cycle, changed).
// Methods that would mutate a list or dict exist but are "unsafe", as in the reference's
// ImmutableSandboxedEnvironment: using them is an error.
#pragma once

#include <string>
#include <string_view>

#include "chat/runtime.h"
#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

// Whether Python's object has a (public) method of that name.
bool has_method(const Value& obj, std::string_view name);
// append/pop/update/...: present but forbidden by the sandbox.
bool is_unsafe_method(const Value& obj, std::string_view name);
// The bound method object `obj.name`.
Value bind_method(const Value& obj, const std::string& name);
// Calls `self.name(args)`.
Expected<Value> call_method(const Value& self, const std::string& name, const CallArgs& call, const RenderEnv& env);

}  // namespace mx::chat
