#include "cli/kv_cache_options.h"

namespace mx::cli {
namespace {

const CLI::Validator& kv_cache_type_check() {
  static const CLI::Validator check(
      [](const std::string& name) {
        const auto t = parse_kv_cache_type(name);
        return t ? std::string() : t.error().message;
      },
      "TYPE");
  return check;
}

}  // namespace

void add_kv_cache_options(CLI::App& app, KvCacheCliOptions& o) {
  app.add_option("--cache-type-k", o.k, "Type of the cached keys: f16, bf16, q8_0, q4_0 or f32")
      ->capture_default_str()
      ->check(kv_cache_type_check());
  app.add_option("--cache-type-v", o.v, "Type of the cached values: f16, bf16, q8_0, q4_0 or f32")
      ->capture_default_str()
      ->check(kv_cache_type_check());
}

KvCacheTypes parse_kv_cache_types(const KvCacheCliOptions& o) {
  const auto k = parse_kv_cache_type(o.k), v = parse_kv_cache_type(o.v);
  MX_CHECK(k.ok() && v.ok());  // the options' validator accepted them
  return {*k, *v};
}

Expected<KvCacheTypes> kv_cache_types(const KvCacheCliOptions& o, const ModelConfig& config) {
  const KvCacheTypes types = parse_kv_cache_types(o);
  if (auto st = check_kv_cache_types(config, types); !st) return st.error();
  return types;
}

}  // namespace mx::cli
