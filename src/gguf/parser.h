// Internal: turns untrusted bytes into a validated File (used by File::open and File::parse).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/expected.h"
#include "gguf/gguf_file.h"

namespace mx::gguf {

Expected<File> parse_gguf(std::span<const uint8_t> bytes, std::string name);

}  // namespace mx::gguf
