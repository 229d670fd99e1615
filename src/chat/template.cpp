#include "chat/template.h"

#include "chat/interpreter.h"
#include "chat/json_value.h"
#include "chat/parser.h"
#include "chat/try.h"

namespace mx::chat {

namespace {

std::tm current_local_time() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

}  // namespace

Expected<ChatTemplate> ChatTemplate::parse(std::string_view source) {
  CHAT_TRY(std::vector<StmtPtr> body, parse_template(source));
  return ChatTemplate(std::make_shared<const Body>(std::move(body)));
}

template <class Json>
Expected<std::string> ChatTemplate::render_json(const Json& context, const RenderOptions& options) const {
  // null stands for "no variables".
  if (!context.is_object() && !context.is_null()) return make_error("chat template context must be a JSON object");
  CHAT_TRY(Value ctx, from_json(context));
  InterpreterLimits limits;
  limits.max_output_bytes = options.max_output_bytes;
  limits.max_steps = options.max_steps;
  limits.max_call_depth = options.max_call_depth;
  RenderEnv env;
  env.max_string_bytes = options.max_output_bytes;
  env.now = options.now ? *options.now : current_local_time();
  Interpreter interpreter(limits, env);
  return interpreter.render(*body_, ctx);
}

Expected<std::string> ChatTemplate::render(const nlohmann::json& context, const RenderOptions& options) const {
  return render_json(context, options);
}

Expected<std::string> ChatTemplate::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  return render_json(context, options);
}

}  // namespace mx::chat
