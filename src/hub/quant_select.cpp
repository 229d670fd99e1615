#include "hub/quant_select.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>

namespace mx::hub {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view basename(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_gguf(std::string_view path) {
  return path.size() > 5 && upper(path.substr(path.size() - 5)) == ".GGUF";
}

// Vision projectors ship beside the language model and are never the model itself.
bool is_projector(std::string_view path) { return upper(basename(path)).find("MMPROJ") != std::string::npos; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Does this token of a file name look like a quantization (Q4_K_M, IQ2_XXS, F16, BF16, TQ1_0, MXFP4)?
bool is_quant_token(std::string_view t) {
  const std::string u = upper(t);
  if (u == "F16" || u == "F32" || u == "BF16" || u == "FP16" || u == "FP32" || u.rfind("MXFP4", 0) == 0)
    return true;
  size_t i = 0;
  if (u.rfind("UD_", 0) == 0) i = 3;  // unsloth's "UD_Q4_K_XL" spelling
  if (u.compare(i, 2, "IQ") == 0 || u.compare(i, 2, "TQ") == 0) i += 2;
  else if (u.compare(i, 1, "Q") == 0) i += 1;
  else return false;
  return i < u.size() && std::isdigit(static_cast<unsigned char>(u[i]));
}

// The file name without ".gguf" and without a "-0000i-of-0000n" suffix.
std::string_view stem(std::string_view path) {
  std::string_view s = basename(path);
  if (is_gguf(s)) s.remove_suffix(5);
  if (shard_of_filename(path).count > 0) s.remove_suffix(15);  // "-00001-of-00003"
  return s;
}

std::string format_list(const std::vector<std::string>& items) {
  return items.empty() ? std::string("none") : fmt::format("{}", fmt::join(items, ", "));
}

// The whole split set a shard belongs to, checked complete.
Expected<Selection> expand_set(const RepoTree& tree, const RepoFile& file, std::string_view repo) {
  Selection sel{quant_of_filename(file.path), {file}};
  const ShardNumber shard = shard_of_filename(file.path);
  if (shard.count == 0) return sel;
  const std::string_view prefix = std::string_view(file.path).substr(0, file.path.size() - 20);  // "-00001-of-00003.gguf"
  std::map<int, RepoFile> shards;
  for (const RepoFile& f : tree) {
    const ShardNumber s = shard_of_filename(f.path);
    if (s.count == shard.count && std::string_view(f.path).substr(0, f.path.size() - 20) == prefix) shards[s.index] = f;
  }
  sel.files.clear();
  for (int i = 1; i <= shard.count; ++i) {
    auto it = shards.find(i);
    if (it == shards.end())
      return make_error("{}: the split set {}-*-of-{:05d}.gguf lacks shard {} of {}", repo, prefix, shard.count, i,
                        shard.count);
    sel.files.push_back(it->second);
  }
  return sel;
}

}  // namespace

ShardNumber shard_of_filename(std::string_view path) {
  // "-00001-of-00003.gguf" is 20 characters.
  if (!is_gguf(path) || path.size() < 21) return {};
  const std::string_view tail = path.substr(path.size() - 20, 15);
  if (tail[0] != '-' || tail.substr(6, 4) != "-of-" || !all_digits(tail.substr(1, 5)) ||
      !all_digits(tail.substr(10, 5)))
    return {};
  const int index = std::stoi(std::string(tail.substr(1, 5)));
  const int count = std::stoi(std::string(tail.substr(10, 5)));
  if (index < 1 || count < 1 || index > count) return {};
  return {index, count};
}

std::string quant_of_filename(std::string_view path) {
  if (!is_gguf(path)) return {};
  const std::string_view s = stem(path);
  // The last token between '-' or '.' separators that looks like a quantization.
  size_t end = s.size();
  while (end > 0) {
    size_t start = s.find_last_of("-.", end - 1);
    start = start == std::string_view::npos ? 0 : start + 1;
    const std::string_view token = s.substr(start, end - start);
    if (is_quant_token(token)) return upper(token);
    if (start == 0) break;
    end = start - 1;
  }
  return {};
}

std::vector<std::string> available_quants(const RepoTree& tree) {
  std::set<std::string> quants;
  for (const RepoFile& f : tree) {
    if (!is_gguf(f.path) || is_projector(f.path)) continue;
    const std::string q = quant_of_filename(f.path);
    quants.insert(q.empty() ? std::string(stem(f.path)) : q);
  }
  return {quants.begin(), quants.end()};
}

Expected<Selection> select_gguf(const RepoTree& tree, std::string_view quant, std::string_view repo) {
  std::vector<const RepoFile*> models;
  for (const RepoFile& f : tree)
    if (is_gguf(f.path) && !is_projector(f.path)) models.push_back(&f);
  if (models.empty()) return make_error("{} has no GGUF files", repo);
  std::sort(models.begin(), models.end(), [](auto* a, auto* b) { return a->path < b->path; });

  const std::string wanted = upper(quant.empty() ? kDefaultQuant : quant);
  // An exact tag first; then a file name that contains the tag (llama.cpp's looser match).
  for (int pass = 0; pass < 2; ++pass)
    for (const RepoFile* f : models) {
      const bool hit = pass == 0 ? quant_of_filename(f->path) == wanted
                                 : upper(basename(f->path)).find(wanted) != std::string::npos;
      if (hit) return expand_set(tree, *f, repo);
    }
  // No tag given and no Q4_K_M: a repo with a single model (one file or one split set) is unambiguous.
  if (quant.empty()) {
    std::set<std::string> stems;
    for (const RepoFile* f : models) stems.insert(std::string(stem(f->path)));
    if (stems.size() == 1) return expand_set(tree, *models.front(), repo);
  }
  return make_error("{} has no {} file; quantizations available: {}{}", repo, wanted,
                    format_list(available_quants(tree)),
                    quant.empty() ? " (name one as ORG/REPO:QUANT)" : "");
}

Expected<Selection> select_file(const RepoTree& tree, std::string_view file, std::string_view repo) {
  for (const RepoFile& f : tree)
    if (f.path == file) return expand_set(tree, f, repo);
  return make_error("{} has no file '{}'", repo, file);
}

}  // namespace mx::hub
