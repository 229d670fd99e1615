#include "server/model_specs.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>

namespace mx::server {

namespace fs = std::filesystem;

namespace {

const std::regex kShard(R"((.*)-(\d{5})-of-(\d{5})$)");

// The bytes of a file and, for the first shard of a split set, of its siblings.
int64_t files_size(const fs::path& path) {
  std::error_code ec;
  int64_t total = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) return 0;
  std::smatch m;
  const std::string stem = path.stem().string();
  if (!std::regex_match(stem, m, kShard)) return total;
  const int n = std::stoi(m[3].str());
  for (int i = 2; i <= n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "-%05d-of-%05d.gguf", i, n);
    total += static_cast<int64_t>(fs::file_size(path.parent_path() / (m[1].str() + name), ec));
    if (ec) ec.clear();
  }
  return total;
}

ModelSpec spec_of(const std::string& arg) {
  std::error_code ec;
  const bool file = fs::is_regular_file(arg, ec);
  return ModelSpec{.id = model_id(arg), .aliases = {}, .path = arg, .estimated_bytes = file ? files_size(arg) : 0};
}

}  // namespace

std::string model_id(const std::string& arg) {
  std::error_code ec;
  const fs::path p(arg);
  if (!fs::is_regular_file(p, ec)) return arg;  // a hub name or URL: as typed
  std::string stem = p.stem().string();
  std::smatch m;
  if (std::regex_match(stem, m, kShard)) stem = m[1].str();
  return stem;
}

Expected<std::vector<ModelSpec>> model_specs(const std::vector<std::string>& models, const std::string& models_dir,
                                             const std::vector<std::string>& aliases) {
  std::vector<ModelSpec> specs;
  for (const std::string& m : models) specs.push_back(spec_of(m));
  const size_t n_given = specs.size();
  if (!models_dir.empty()) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const fs::directory_entry& e : fs::directory_iterator(models_dir, ec))
      if (e.is_regular_file() && e.path().extension() == ".gguf") files.push_back(e.path());
    if (ec) return make_error("--models-dir {}: {}", models_dir, ec.message());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      std::smatch m;
      const std::string stem = f.stem().string();
      if (std::regex_match(stem, m, kShard) && m[2].str() != "00001") continue;  // the set loads from its first shard
      // A file also given with -m is listed once.
      const bool given = std::any_of(specs.begin(), specs.begin() + static_cast<ptrdiff_t>(n_given), [&](const ModelSpec& s) {
        return fs::equivalent(s.path, f, ec);
      });
      if (!given) specs.push_back(spec_of(f.string()));
    }
  }
  if (specs.empty()) return make_error("no model: give -m FILE or --models-dir DIR (with .gguf files)");

  size_t next_plain = 0;
  for (const std::string& a : aliases) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos) {
      if (next_plain >= n_given) return make_error("--alias {}: no -m left to pair it with (use --alias MODEL={})", a, a);
      specs[next_plain++].aliases.push_back(a);
      continue;
    }
    const std::string target = a.substr(0, eq), name = a.substr(eq + 1);
    auto it = std::find_if(specs.begin(), specs.end(), [&](const ModelSpec& s) { return s.id == target || s.path == target; });
    if (it == specs.end()) return make_error("--alias {}: no model named {}", a, target);
    if (name.empty()) return make_error("--alias {}: the alias is empty", a);
    it->aliases.push_back(name);
  }
  std::set<std::string> names;
  for (const ModelSpec& s : specs) {
    if (!names.insert(s.id).second) return make_error("two models are named {} (give one an --alias and rename the file)", s.id);
    for (const std::string& a : s.aliases)
      if (!names.insert(a).second) return make_error("the name {} is given to two models", a);
  }
  return specs;
}

Expected<int64_t> parse_size(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value < 0) return make_error("'{}' is not a size (say 8G, 512M or a number of bytes)", text);
  std::string unit(end, text.data() + text.size());
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.ends_with("IB")) unit.resize(unit.size() - 2);
  else if (unit.ends_with("B") && unit.size() > 1) unit.resize(unit.size() - 1);
  else if (unit == "B") unit.clear();
  static constexpr std::string_view kUnits = "KMGT";
  double scale = 1;
  if (!unit.empty()) {
    const size_t i = unit.size() == 1 ? kUnits.find(unit[0]) : std::string_view::npos;
    if (i == std::string_view::npos) return make_error("'{}' is not a size (units: K, M, G, T)", text);
    scale = std::pow(1024.0, static_cast<double>(i + 1));
  }
  return static_cast<int64_t>(value * scale);
}

}  // namespace mx::server
