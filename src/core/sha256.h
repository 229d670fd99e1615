// SHA-256 (FIPS 180-4) of a text, as lowercase hex: the digest Ollama's model routes show.
#pragma once

#include <string>
#include <string_view>

namespace mx {

std::string sha256_hex(std::string_view text);

}  // namespace mx
