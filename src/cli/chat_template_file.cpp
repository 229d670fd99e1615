#include "cli/chat_template_file.h"

#include <fstream>
#include <iterator>

namespace mx::cli {

Expected<ChatFormat> load_chat_format(const LoadedModel& loaded, const std::string& template_file) {
  if (template_file.empty()) return ChatFormat::from_model(loaded.model->file, *loaded.tokenizer);
  std::ifstream in(template_file, std::ios::binary);
  if (!in) return make_error("cannot read {}", template_file);
  const std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto format = ChatFormat::from_source(source, loaded.tokenizer.get());
  if (!format) return make_error("{}: {}", template_file, format.error().message);
  return format;
}

}  // namespace mx::cli
