#include "quant/types.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "core/expected.h"

namespace mx {
namespace {
constexpr std::array kTypes = {
    TypeTraits{GgmlType::kF32, "F32", 1, 4},
    TypeTraits{GgmlType::kF16, "F16", 1, 2},
    TypeTraits{GgmlType::kQ4_0, "Q4_0", 32, 18},
    TypeTraits{GgmlType::kQ4_1, "Q4_1", 32, 20},
    TypeTraits{GgmlType::kQ5_0, "Q5_0", 32, 22},
    TypeTraits{GgmlType::kQ5_1, "Q5_1", 32, 24},
    TypeTraits{GgmlType::kQ8_0, "Q8_0", 32, 34},
    TypeTraits{GgmlType::kQ8_1, "Q8_1", 32, 36},
    TypeTraits{GgmlType::kQ2_K, "Q2_K", 256, 84},
    TypeTraits{GgmlType::kQ3_K, "Q3_K", 256, 110},
    TypeTraits{GgmlType::kQ4_K, "Q4_K", 256, 144},
    TypeTraits{GgmlType::kQ5_K, "Q5_K", 256, 176},
    TypeTraits{GgmlType::kQ6_K, "Q6_K", 256, 210},
    TypeTraits{GgmlType::kQ8_K, "Q8_K", 256, 292},
    TypeTraits{GgmlType::kIQ4_NL, "IQ4_NL", 32, 18},
    TypeTraits{GgmlType::kI8, "I8", 1, 1},
    TypeTraits{GgmlType::kI16, "I16", 1, 2},
    TypeTraits{GgmlType::kI32, "I32", 1, 4},
    TypeTraits{GgmlType::kI64, "I64", 1, 8},
    TypeTraits{GgmlType::kF64, "F64", 1, 8},
    TypeTraits{GgmlType::kBF16, "BF16", 1, 2},
    TypeTraits{GgmlType::kMXFP4, "MXFP4", 32, 17},
};
}  // namespace

std::optional<TypeTraits> type_traits(uint32_t raw_type) {
  for (const auto& t : kTypes)
    if (static_cast<uint32_t>(t.type) == raw_type) return t;
  return std::nullopt;
}

const TypeTraits& traits(GgmlType type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t;
  MX_CHECK(false && "unknown GgmlType");
  __builtin_unreachable();
}

std::optional<GgmlType> type_from_name(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const auto& t : kTypes)
    if (t.name == upper) return t.type;
  return std::nullopt;
}

}  // namespace mx
