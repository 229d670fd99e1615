// Jinja's tests, the right-hand side of `x is defined`, `x is string`, `x is divisibleby 3`,
// and of select/reject filters.
#pragma once

#include <string_view>

#include "chat/runtime.h"
#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

bool test_exists(std::string_view name);
Expected<bool> apply_test(std::string_view name, const Value& value, const CallArgs& call, const RenderEnv& env);

}  // namespace mx::chat
