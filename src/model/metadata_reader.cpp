#include "model/metadata_reader.h"

namespace mx {

Error MetadataReader::wrong_type(Key key, std::string_view expected) const {
  return make_error("{}: metadata key '{}' should be {}, not {}", f_.name(), name(key), expected,
                    gguf::value_type_name(f_.find(name(key))->type()));
}

Error MetadataReader::refuse(Key key, std::string_view what) const {
  return make_error("{}: metadata key '{}' {}", f_.name(), name(key), what);
}

Expected<int64_t> MetadataReader::positive(Key key) const {
  if (!has(key)) return make_error("{}: missing metadata key '{}'", f_.name(), name(key));
  auto v = count(key, 0);
  if (v && *v == 0) return make_error("{}: metadata key '{}' has invalid value 0", f_.name(), name(key));
  return v;
}

Expected<int64_t> MetadataReader::count(Key key, int64_t fallback) const {
  const gguf::Value* v = f_.find(name(key));
  if (!v) return fallback;
  const auto i = v->as_int();
  if (!i) return wrong_type(key, "an integer");
  if (*i < 0 || *i > (int64_t{1} << 31))
    return make_error("{}: metadata key '{}' has invalid value {}", f_.name(), name(key), *i);
  return *i;
}

Expected<double> MetadataReader::real(Key key, double fallback) const {
  const gguf::Value* v = f_.find(name(key));
  if (!v) return fallback;
  const auto d = v->as_float();
  if (!d) return wrong_type(key, "a number");
  return *d;
}

Expected<bool> MetadataReader::flag(Key key, bool fallback) const {
  const gguf::Value* v = f_.find(name(key));
  if (!v) return fallback;
  const auto b = v->as_bool();
  if (!b) return wrong_type(key, "a boolean");
  return *b;
}

Expected<std::string> MetadataReader::text(Key key, std::string fallback) const {
  const gguf::Value* v = f_.find(name(key));
  if (!v) return fallback;
  const std::string* s = v->as_string();
  if (!s) return wrong_type(key, "a string");
  return *s;
}

}  // namespace mx
