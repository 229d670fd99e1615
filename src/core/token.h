#pragma once

#include <cstdint>

namespace mx {
using Token = int32_t;  // a vocabulary id
}
