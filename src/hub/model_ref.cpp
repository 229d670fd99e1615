#include "hub/model_ref.h"

#include <algorithm>
#include <cctype>

#include "hub/repo_file.h"

namespace mx::hub {
namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && starts_with_ci(s.substr(s.size() - suffix.size()), suffix);
}

bool valid_part(std::string_view p) {
  if (p.empty() || p.size() > 96 || p.front() == '.' || p.front() == '-') return false;
  if (p.find("..") != std::string_view::npos) return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}


Expected<ModelRef> parse_repo(std::string_view text, std::string_view typed) {
  ModelRef ref;
  ref.kind = ModelRef::Kind::kRepo;
  const size_t colon = text.find(':');
  std::string_view repo = text.substr(0, colon);
  if (colon != std::string_view::npos) {
    ref.quant = std::string(text.substr(colon + 1));
    if (ref.quant.empty() || !valid_part(ref.quant))
      return make_error("'{}': the quantization after ':' is empty or has characters a tag cannot have", typed);
  }
  while (!repo.empty() && repo.back() == '/') repo.remove_suffix(1);
  if (!is_repo_id(repo))
    return make_error("'{}' is neither a file nor a model name ORG/REPO[:QUANT] (e.g. Qwen/Qwen3-0.6B-GGUF:Q8_0)",
                      typed);
  ref.repo = std::string(repo);
  return ref;
}

// A URL that is not a hub's: any path ending in .gguf is a file to download as it is.
Expected<ModelRef> plain_url(std::string_view url, std::string_view host, std::string_view path) {
  if (host.empty() || !ends_with_ci(path, ".gguf"))
    return make_error("'{}': expected a Hugging Face URL (https://HOST/ORG/REPO/resolve/main/FILE.gguf) or the URL "
                      "of a .gguf file",
                      url);
  ModelRef ref;
  ref.kind = ModelRef::Kind::kUrl;
  ref.url = std::string(url);
  return ref;
}

// https://HOST/ORG/NAME[/resolve/REV/FILE] or /blob/REV/FILE (a page link copied from the
// browser); any other https://HOST/PATH.gguf is a plain URL.
Expected<ModelRef> parse_url(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t host_end = url.find('/', scheme_end + 3);
  if (host_end == std::string_view::npos) return make_error("'{}': no repo in this URL", url);
  const std::string_view host = url.substr(scheme_end + 3, host_end - scheme_end - 3);
  std::string_view rest = url.substr(host_end + 1);
  rest = rest.substr(0, rest.find_first_of("?#"));
  const bool hub_file =
      rest.find("/resolve/") != std::string_view::npos || rest.find("/blob/") != std::string_view::npos;
  if (ends_with_ci(rest, ".gguf") && !hub_file) return plain_url(url, host, rest);
  // The first two parts are ORG/NAME; anything after must be resolve|blob/REV/FILE.
  const size_t s1 = rest.find('/');
  const size_t s2 = s1 == std::string_view::npos ? s1 : rest.find('/', s1 + 1);
  std::string_view repo = rest.substr(0, s2);
  if (s2 == std::string_view::npos || s2 + 1 == rest.size()) {
    auto ref = parse_repo(repo, url);
    if (ref) ref->endpoint = std::string(url.substr(0, host_end));
    return ref;
  }
  std::string_view tail = rest.substr(s2 + 1);
  const size_t s3 = tail.find('/');
  const std::string_view verb = tail.substr(0, s3);
  if ((verb != "resolve" && verb != "blob") || s3 == std::string_view::npos) return plain_url(url, host, rest);
  tail = tail.substr(s3 + 1);
  const size_t s4 = tail.find('/');
  if (s4 == std::string_view::npos) return make_error("'{}': no file after the revision", url);
  auto ref = parse_repo(repo, url);
  if (!ref) return ref;
  ref->revision = std::string(tail.substr(0, s4));
  ref->file = std::string(tail.substr(s4 + 1));
  if (!valid_part(ref->revision) || !is_safe_repo_path(ref->file))
    return make_error("'{}': the revision or file path in this URL is not valid", url);
  ref->endpoint = std::string(url.substr(0, host_end));
  return ref;
}

}  // namespace

bool is_repo_id(std::string_view name) {
  const size_t slash = name.find('/');
  if (slash == std::string_view::npos) return false;
  return valid_part(name.substr(0, slash)) && valid_part(name.substr(slash + 1));
}

std::string ModelRef::display_name() const {
  if (kind == Kind::kLocalPath) return path;
  if (kind == Kind::kUrl) return url;
  return quant.empty() ? repo : repo + ":" + quant;
}

Expected<ModelRef> parse_model_ref(std::string_view text) {
  if (text.empty()) return make_error("no model given");
  if (starts_with_ci(text, "https://") || starts_with_ci(text, "http://")) return parse_url(text);
  for (std::string_view host : {"hf.co/", "huggingface.co/", "www.huggingface.co/"})
    if (starts_with_ci(text, host)) return parse_repo(text.substr(host.size()), text);
  const char first = text.front();
  if (first == '/' || first == '.' || first == '~' || ends_with_ci(text, ".gguf") ||
      std::count(text.begin(), text.end(), '/') != 1) {
    ModelRef ref;
    ref.path = std::string(text);
    return ref;
  }
  return parse_repo(text, text);
}

}  // namespace mx::hub
