// What the built-in filters, tests, methods and functions share: their call arguments,
// Python-style argument binding, and the per-render bounds they must respect.
#pragma once

#include <ctime>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
};

// Per-render settings the builtins read. Anything a builtin allocates from a number the
// template chose (repetition, padding width, range length) is checked against
// max_string_bytes first, so a template cannot ask for gigabytes.
struct RenderEnv {
  size_t max_string_bytes = 16u << 20;
  std::tm now{};  // what strftime_now formats
};

// Binds call arguments to a fixed parameter list as Python does: positional first, then
// keywords by name. Unset parameters stay nullopt. Errors name the function like Python.
Expected<std::vector<std::optional<Value>>> bind_args(std::string_view func, const CallArgs& call,
                                                      std::initializer_list<std::string_view> params);

// An integer argument (bools count, as in Python).
Expected<int64_t> int_arg(std::string_view func, std::string_view param, const Value& v);
// A string argument.
Expected<std::string> str_arg(std::string_view func, std::string_view param, const Value& v);

Expected<void> check_size(size_t bytes, const RenderEnv& env);

}  // namespace mx::chat
