// Standard base64 (RFC 4648, with padding): how OpenAI's API sends float vectors compactly.
#pragma once

#include <string>
#include <string_view>

namespace mx {

std::string base64_encode(std::string_view bytes);

}  // namespace mx
