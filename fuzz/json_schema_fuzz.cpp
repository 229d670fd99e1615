// libFuzzer target: random bytes as a JSON Schema. Converting must never crash, hang or
// leak, and whatever it converts must be a grammar the GBNF parser accepts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sampling/gbnf.h"
#include "sampling/json_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto gbnf = mx::json_schema_to_gbnf(input);
  if (!gbnf.ok()) return 0;
  const auto grammar = mx::parse_gbnf(*gbnf);
  if (!grammar.ok()) {
    std::fprintf(stderr, "converted schema does not parse: %s\n%s\n", grammar.error().message.c_str(), gbnf->c_str());
    std::abort();
  }
  return 0;
}
