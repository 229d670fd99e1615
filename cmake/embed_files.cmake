# Writes a C++ source holding the bytes of every file in DIR, so the binary serves its
# web page without reading the disk (nothing to install, nothing to traverse).
# Run as: cmake -DDIR=... -DOUT=... -P embed_files.cmake
file(GLOB files RELATIVE ${DIR} ${DIR}/*)
list(SORT files)
set(arrays "")
set(table "")
set(i 0)
foreach(name IN LISTS files)
  if(IS_DIRECTORY ${DIR}/${name})
    continue()
  endif()
  file(READ ${DIR}/${name} hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND arrays "constexpr char kFile${i}[] = {${bytes} 0};\n")
  string(APPEND table "    {\"${name}\", {kFile${i}, ${size}}},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE ${OUT} "// Generated from web/ by cmake/embed_files.cmake: do not edit.
#include \"server/web_files.h\"

namespace mx::server {
namespace {
${arrays}
const EmbeddedFile kFiles[] = {
${table}    {{}, {}},
};
}  // namespace

std::span<const EmbeddedFile> embedded_web_files() { return {kFiles, ${i}}; }

}  // namespace mx::server
")
