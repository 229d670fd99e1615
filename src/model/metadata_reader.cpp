#include "model/metadata_reader.h"

#include <functional>

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

namespace {

// The key's value through `convert` (which gives nullopt or null for another type), or the
// fallback when the key is absent.
template <class T, class Convert>
Expected<T> read_as(const gguf::Value* v, T fallback, Convert convert, const std::function<Error()>& wrong) {
  if (!v) return fallback;
  const auto got = convert(*v);
  if (!got) return wrong();
  return T(*got);
}

}  // namespace

Expected<int64_t> MetadataReader::count(Key key, int64_t fallback) const {
  auto i = read_as<int64_t>(f_.find(name(key)), fallback, [](const gguf::Value& v) { return v.as_int(); },
                            [&] { return wrong_type(key, "an integer"); });
  if (i && (*i < 0 || *i > (int64_t{1} << 31)))
    return make_error("{}: metadata key '{}' has invalid value {}", f_.name(), name(key), *i);
  return i;
}

Expected<double> MetadataReader::real(Key key, double fallback) const {
  return read_as<double>(f_.find(name(key)), fallback, [](const gguf::Value& v) { return v.as_float(); },
                         [&] { return wrong_type(key, "a number"); });
}

Expected<bool> MetadataReader::flag(Key key, bool fallback) const {
  return read_as<bool>(f_.find(name(key)), fallback, [](const gguf::Value& v) { return v.as_bool(); },
                       [&] { return wrong_type(key, "a boolean"); });
}

Expected<std::string> MetadataReader::text(Key key, std::string fallback) const {
  return read_as<std::string>(f_.find(name(key)), std::move(fallback),
                              [](const gguf::Value& v) { return v.as_string(); },
                              [&] { return wrong_type(key, "a string"); });
}

}  // namespace mx
