// Files a crash leaves whole or absent, never half-written under their final name. A killed
// process alone cannot do that harm (its writes are in the page cache, and the rename of a
// finished file is atomic); a power loss or a kernel crash can, unless the bytes reach the
// disk before the rename and the rename reaches it after: hence the fsyncs.
#pragma once

#include <string>
#include <string_view>

#include "core/expected.h"

namespace mx::hub {

// Flushes `from` to disk, renames it to `to` and flushes the folder that holds the new name.
// An error leaves `from` as it was.
Status durable_rename(const std::string& from, const std::string& to);

// Writes `contents` to `path` through a file beside it, flushed and renamed: a reader (or a
// crash) finds the old contents or the new, never a part.
Status write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace mx::hub
