// Python `str` semantics on UTF-8 text: templates index, slice, strip and split strings by
// code point, so these helpers decode UTF-8 instead of working on bytes. Every string that
// reaches them is valid UTF-8 (the template and the context are checked on entry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mx::chat::ustr {

bool is_valid_utf8(std::string_view s);

// Decodes the code point at s[i] and advances i. s must be valid UTF-8.
char32_t next(std::string_view s, size_t& i);
void append(std::string& out, char32_t cp);
std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);

bool is_ascii(std::string_view s);
size_t length(std::string_view s);

// Python's str.isspace() / the `\s` class of `re` on str.
bool is_space(char32_t c);
// Python's str.isprintable() (approximated from the Unicode categories that matter).
bool is_printable(char32_t c);
// Letters and digits as `\w` sees them: ASCII exactly, beyond ASCII every non-space,
// non-punctuation code point.
bool is_word(char32_t c);

// str.strip/lstrip/rstrip: without chars, Unicode whitespace.
std::string strip(std::string_view s, std::optional<std::string_view> chars, bool left, bool right);

// Case mapping: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (not the full
// Unicode tables; other scripts are left unchanged).
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize
std::string title(std::string_view s);       // str.title
bool is_lower(std::string_view s);           // str.islower
bool is_upper(std::string_view s);           // str.isupper

// str.split(sep, maxsplit) and str.rsplit; without sep, runs of whitespace.
std::vector<std::string> split(std::string_view s, std::optional<std::string_view> sep,
                               int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, std::optional<std::string_view> sep,
                                int64_t maxsplit);
// str.splitlines(keepends)
std::vector<std::string> splitlines(std::string_view s, bool keepends = false);
// str.replace(old, new, count); count < 0 means all.
std::string replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);

}  // namespace mx::chat::ustr
