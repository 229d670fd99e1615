#include "chat/runtime.h"

#include <algorithm>

namespace mx::chat {

Expected<std::vector<std::optional<Value>>> bind_args(std::string_view func, const CallArgs& call,
                                                      std::initializer_list<std::string_view> params) {
  std::vector<std::optional<Value>> out(params.size());
  if (call.args.size() > params.size()) {
    return make_error("{}() takes at most {} argument(s) ({} given)", func, params.size(), call.args.size());
  }
  for (size_t i = 0; i < call.args.size(); ++i) out[i] = call.args[i];
  for (const auto& [key, value] : call.kwargs) {
    auto it = std::find(params.begin(), params.end(), key);
    if (it == params.end()) return make_error("{}() got an unexpected keyword argument '{}'", func, key);
    const size_t i = static_cast<size_t>(it - params.begin());
    if (out[i]) return make_error("{}() got multiple values for argument '{}'", func, key);
    out[i] = value;
  }
  return out;
}

Expected<int64_t> int_arg(std::string_view func, std::string_view param, const Value& v) {
  if (v.is_integral()) return v.as_int();
  return make_error("{}(): '{}' must be an integer, not '{}'", func, param, type_name(v));
}

Expected<std::string> str_arg(std::string_view func, std::string_view param, const Value& v) {
  if (v.is_string()) return v.str();
  return make_error("{}(): '{}' must be a string, not '{}'", func, param, type_name(v));
}

Expected<void> check_size(size_t bytes, const RenderEnv& env) {
  if (bytes > env.max_string_bytes) {
    return make_error("a value of {} bytes exceeds the render's size limit ({} bytes)", bytes, env.max_string_bytes);
  }
  return {};
}

}  // namespace mx::chat
