// `moxing tokenize`: the token ids and pieces a model's tokenizer makes of a text.
// Works on vocabulary-only GGUF files; flags follow llama-tokenize.
#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "cli/common.h"
#include "core/log.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace mx::cli {
namespace {

struct TokenizeOptions {
  std::string path;
  std::string text;
  bool from_stdin = false;
  bool ids_only = false;
  bool no_bos = false;
  bool no_parse_special = false;
};

int run_tokenize(const TokenizeOptions& o) {
  const Expected<std::string> path = resolve_model_argument(o.path);  // a file, or a name in the cache
  if (!path) {
    MX_LOG_ERROR("{}", path.error().message);
    return kExitBadModel;
  }
  auto file = gguf::File::open(*path);
  if (!file) {
    MX_LOG_ERROR("{}", file.error().message);
    return kExitBadModel;
  }
  auto tokenizer = Tokenizer::from_gguf(*file);
  if (!tokenizer) {
    MX_LOG_ERROR("{}", tokenizer.error().message);
    return kExitBadModel;
  }
  std::string text = o.text;
  if (o.from_stdin) text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  const Tokenizer& tok = **tokenizer;
  const auto ids = tok.encode(text, /*add_special=*/!o.no_bos, /*parse_special=*/!o.no_parse_special);
  if (o.ids_only) {
    fmt::print("[{}]\n", fmt::join(ids, ", "));
    return kExitOk;
  }
  for (Token id : ids) fmt::print("{:6} -> '{}'\n", id, tok.token_to_piece(id, /*render_special=*/true));
  return kExitOk;
}

}  // namespace

Runner add_tokenize(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  app.add_option("-m,--model", o->path, "GGUF file (a vocabulary-only file is enough)")->required();
  auto* text = app.add_option("text", o->text, "Text to tokenize");
  auto* in = app.add_flag("--stdin", o->from_stdin, "Read the text from standard input");
  text->excludes(in);
  app.add_flag("--ids", o->ids_only, "Print only a JSON list of ids");
  app.add_flag("--no-bos", o->no_bos, "Do not add BOS/EOS as the vocabulary asks");
  app.add_flag("--no-parse-special", o->no_parse_special,
               "Treat control-token text such as <|im_start|> as plain text");
  return [o] { return run_tokenize(*o); };
}

}  // namespace mx::cli
