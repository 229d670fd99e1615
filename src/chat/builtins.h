// Global functions a template can call: Jinja's range, dict and namespace, and the two
// transformers adds, strftime_now and raise_exception (the interpreter turns the latter
// into the render's error).
#pragma once

#include <string_view>
#include <vector>

#include "chat/runtime.h"
#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

// The names visible in every render unless the context overrides them.
const std::vector<std::string_view>& builtin_names();
Value builtin_value(std::string_view name);
Expected<Value> call_builtin(std::string_view name, const CallArgs& call, const RenderEnv& env);

// Jinja's sandbox refuses ranges longer than this.
inline constexpr int64_t kMaxRange = 100000;

}  // namespace mx::chat
