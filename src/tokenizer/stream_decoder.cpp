#include "tokenizer/stream_decoder.h"

namespace mx {

std::string StreamDecoder::push(Token id) {
  std::string_view piece = tokenizer_->token_to_piece(id, options_.render_special);
  if (first_ && options_.strip_space_prefix && tokenizer_->vocab().add_space_prefix() &&
      !piece.empty() && piece.front() == ' ')
    piece.remove_prefix(1);
  first_ = false;
  return bytes_.push(piece);
}

std::string StreamDecoder::flush() {
  std::string tail = bytes_.flush();
  return options_.drop_unfinished_tail ? std::string() : tail;
}

void StreamDecoder::reset() {
  bytes_ = utf8::Stream();
  first_ = true;
}

}  // namespace mx
