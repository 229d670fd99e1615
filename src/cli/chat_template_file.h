// The chat format a command runs with: the model's own template, or the Jinja file the user
// names instead (--chat-template-file), shared by `run --chat` and `serve`.
#pragma once

#include <string>

#include "cli/common.h"
#include "core/expected.h"
#include "engine/chat_format.h"

namespace mx::cli {

// `template_file` empty: the model's template (ChatML if it has none: see is_fallback()).
// Otherwise the file's template; errors name the file.
Expected<ChatFormat> load_chat_format(const LoadedModel& loaded, const std::string& template_file);

}  // namespace mx::cli
