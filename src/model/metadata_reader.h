// Typed reads of an architecture's metadata keys: a key that is present with the wrong
// type (an array where a number belongs, a string for a flag) is an error naming it, never
// a silent fall-back to the default.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/expected.h"
#include "gguf/gguf_file.h"
#include "model/arch.h"

namespace mx {

class MetadataReader {
 public:
  MetadataReader(const gguf::File& f, std::string_view arch) : f_(f), arch_(arch) {}

  std::string name(Key key) const { return key_name(key, arch_); }
  bool has(Key key) const { return f_.find(name(key)) != nullptr; }

  // A required integer in [1, 2^31].
  Expected<int64_t> positive(Key key) const;
  // An optional integer in [0, 2^31] (fallback when absent).
  Expected<int64_t> count(Key key, int64_t fallback) const;
  Expected<double> real(Key key, double fallback) const;
  Expected<bool> flag(Key key, bool fallback) const;
  Expected<std::string> text(Key key, std::string fallback) const;

  // "<file>: metadata key '<arch>.<key>' <what>": for values the caller refuses.
  Error refuse(Key key, std::string_view what) const;

 private:
  Error wrong_type(Key key, std::string_view expected) const;

  const gguf::File& f_;
  std::string_view arch_;
};

}  // namespace mx
