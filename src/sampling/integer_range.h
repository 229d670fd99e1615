// The decimal integers of a closed range as a GBNF expression: what a JSON Schema's
// "minimum"/"maximum" (and their exclusive forms) on an integer become, so a constrained
// reply never writes a value the schema refuses. Written as JSON writes integers: an
// optional minus sign, no leading zeros, "-0" never.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mx {

// The integers n with min <= n <= max (nullopt: unbounded on that side); min <= max.
std::string integer_range_gbnf(std::optional<int64_t> min, std::optional<int64_t> max);

}  // namespace mx
