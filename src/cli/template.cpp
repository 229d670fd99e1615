// `moxing template`: renders a chat template with the variables of a JSON file and prints
// the prompt, so users see exactly what a model receives. The template is a .jinja file or
// the one inside a GGUF file (whose vocabulary then supplies bos_token/eos_token unless the
// JSON sets them). Same conventions as Hugging Face's apply_chat_template.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "core/log.h"
#include "engine/chat_format.h"
#include "gguf/gguf_file.h"

namespace mx::cli {
namespace {

struct TemplateOptions {
  std::string template_path;
  std::string context_path;
};

Expected<std::string> read_file(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open {}", path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int run_template(const TemplateOptions& o) {
  auto context_text = read_file(o.context_path);
  if (!context_text) {
    MX_LOG_ERROR("{}", context_text.error().message);
    return kExitBadInput;
  }
  const auto context = nlohmann::ordered_json::parse(*context_text, nullptr, /*allow_exceptions=*/false);
  if (context.is_discarded() || !context.is_object()) {
    MX_LOG_ERROR("{}: not a JSON object (expected {{\"messages\": [...], ...}})", o.context_path);
    return kExitBadInput;
  }

  std::ifstream probe(o.template_path, std::ios::binary);
  if (!probe) {
    MX_LOG_ERROR("cannot open {}", o.template_path);
    return kExitBadInput;
  }
  char magic[4] = {};
  probe.read(magic, sizeof magic);
  std::optional<ChatFormat> format;
  std::unique_ptr<Tokenizer> tokenizer;
  if (std::string(magic, 4) == "GGUF") {
    auto file = gguf::File::open(o.template_path);
    if (!file) {
      MX_LOG_ERROR("{}", file.error().message);
      return kExitBadModel;
    }
    if (!file->find(kChatTemplateKey)) {
      MX_LOG_ERROR("{} has no {}", o.template_path, kChatTemplateKey);
      return kExitBadModel;
    }
    auto tok = Tokenizer::from_gguf(*file);
    if (tok) tokenizer = std::move(*tok);
    auto f = tokenizer ? ChatFormat::from_model(*file, *tokenizer)
                       : ChatFormat::from_source(*file->get_string(kChatTemplateKey), nullptr);
    if (!f) {
      MX_LOG_ERROR("{}", f.error().message);
      return kExitBadModel;
    }
    format = std::move(*f);
  } else {
    auto source = read_file(o.template_path);
    if (!source) {
      MX_LOG_ERROR("{}", source.error().message);
      return kExitBadInput;
    }
    auto f = ChatFormat::from_source(*source, nullptr);
    if (!f) {
      MX_LOG_ERROR("{}: {}", o.template_path, f.error().message);
      return kExitBadInput;
    }
    format = std::move(*f);
  }
  auto prompt = format->render(context);
  if (!prompt) {
    MX_LOG_ERROR("{}: {}", o.template_path, prompt.error().message);
    return kExitBadInput;
  }
  std::fwrite(prompt->data(), 1, prompt->size(), stdout);
  return kExitOk;
}

}  // namespace

Runner add_template(CLI::App& app) {
  auto o = std::make_shared<TemplateOptions>();
  app.add_option("template", o->template_path, "Chat template: a .jinja file or a GGUF model file")
      ->required();
  app.add_option("context", o->context_path,
                 "JSON object of template variables: messages, add_generation_prompt, tools, "
                 "bos_token, ... ('-' reads standard input)")
      ->required();
  return [o] { return run_template(*o); };
}

}  // namespace mx::cli
