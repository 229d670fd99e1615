// Rounding a size or count up to a multiple, for padding and alignment.
#pragma once

#include <concepts>

namespace mx {

// The least multiple of m that is >= n (n >= 0, m > 0).
template <std::integral T>
constexpr T round_up(T n, T m) {
  return (n + m - 1) / m * m;
}

}  // namespace mx
