// Stop strings in streamed text. Text that could still grow into a stop string is held
// back until it cannot, so a client never sees part of one; after a match, only the text
// before it is released. Works on valid UTF-8 (what StreamDecoder emits): a held suffix
// always begins where a stop string begins, so released text never ends mid-character.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mx {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Appends generated text; returns what may be shown now. Once stopped(), returns "".
  std::string push(std::string_view text);
  // End of generation without a match: the text still held back.
  std::string flush();

  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }  // the stop string that was found

 private:
  // Length of the longest end of pending_ that is the start of some stop string.
  size_t partial_match_length() const;

  std::vector<std::string> stops_;
  std::string pending_;
  std::string matched_;
  bool stopped_ = false;
};

}  // namespace mx
