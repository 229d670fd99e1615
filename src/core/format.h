// Human-readable sizes, counts and rates for logs and tables.
#pragma once

#include <cstdint>
#include <string>

namespace mx {

std::string format_bytes(uint64_t bytes);      // "1.13 MiB"
std::string format_count(double n);            // "260.1K", "1.24B"
std::string format_duration(double seconds);   // "850 ms", "3.2 s", "2m 05s"

}  // namespace mx
