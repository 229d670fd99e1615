// libFuzzer target: random bytes through the SPM tokenizer (stories260K vocabulary),
// the byte-level BPE tokenizer (GPT-2 and Qwen2/3 vocabularies) and WordPiece (BERT),
// the decoder and the streaming decoder. Checks round trips (WordPiece normalises, so
// only ids and streaming there), not just the absence of crashes. Vocabularies
// are read from $MOXING_SHARED_DIR (default ../shared); a missing one is skipped.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"
#include "core/utf8.h"

namespace {

const mx::Tokenizer* load_tokenizer(const char* rel) {
  const char* dir = std::getenv("MOXING_SHARED_DIR");
  const std::string path = std::string(dir ? dir : "../shared") + "/" + rel;
  auto file = mx::gguf::File::open(path);
  if (!file) {
    std::fprintf(stderr, "tokenizer_fuzz: %s (skipping it)\n", file.error().message.c_str());
    return nullptr;
  }
  auto tok = mx::Tokenizer::from_gguf(*file);
  if (!tok) {
    std::fprintf(stderr, "tokenizer_fuzz: %s\n", tok.error().message.c_str());
    return nullptr;
  }
  return tok->release();  // lives as long as the fuzzing process
}

// `detail` is only built on failure: escaping every input would dominate the run time.
template <class Detail>
void require(bool ok, const char* what, Detail detail) {
  if (ok) return;
  std::fprintf(stderr, "tokenizer_fuzz: %s\n%s\n", what, std::string(detail()).c_str());
  std::abort();
}

std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), c >= 0x20 && c < 0x7F ? "%c" : "\\x%02X", c);
    out += buf;
  }
  return out;
}

// encode writes spaces as '▁', so a literal '▁' in the input also decodes to ' '.
std::string spaces_for_marks(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s.substr(i, 3) == "\xE2\x96\x81") {
      out += ' ';
      i += 3;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// BPE reads text as UTF-8: every byte outside a well-formed character becomes U+FFFD.
std::string replace_bad_bytes(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const mx::utf8::Scan sc = mx::utf8::scan(s.substr(i));
    if (sc.status == mx::utf8::Status::kComplete) {
      out += s.substr(i, sc.length);
      i += sc.length;
    } else {
      out += mx::utf8::kReplacement;
      i += 1;
    }
  }
  return out;
}

// What decode(render_special) of encode(text, false, parse_special) must give: the raw
// fragments as written, special tokens as their text; SPM adds the space the encoder
// puts in front of a fragment that follows a special token (byte fallback makes even
// invalid UTF-8 come back byte for byte); BPE gives valid UTF-8 back exactly.
std::string expected_round_trip(const mx::Tokenizer& t, std::string_view text, bool parse_special) {
  const bool spm = t.vocab().kind() == mx::VocabKind::kSpm;
  std::string out;
  bool after_special = false;
  for (const mx::Fragment& f : t.split_special(text, parse_special)) {
    if (f.token != mx::kNoToken) {
      out += t.vocab().text(f.token);
      after_special = true;
    } else {
      const std::string_view raw = text.substr(f.begin, f.end - f.begin);
      if (spm) {
        if (after_special) out += ' ';
        out += spaces_for_marks(raw);
      } else {
        out += replace_bad_bytes(raw);
      }
      after_special = false;
    }
  }
  return out;
}

void check_stream(const mx::Tokenizer& t, const std::vector<mx::Token>& ids, bool render_special) {
  mx::StreamDecoder stream(t, {.render_special = render_special, .strip_space_prefix = true});
  std::string streamed;
  for (mx::Token id : ids) {
    const std::string chunk = stream.push(id);
    require(mx::utf8::is_valid(chunk), "stream chunk is not valid UTF-8", [&] { return escape(chunk); });
    streamed += chunk;
  }
  streamed += stream.flush();
  const std::string want = mx::utf8::sanitize(t.decode(ids, {.render_special = render_special}));
  require(streamed == want, "stream differs from sanitized decode",
          [&] { return "stream: " + escape(streamed) + "\nwant:   " + escape(want); });
}

void check_tokenizer(const mx::Tokenizer& tok, const std::string& text) {
  for (bool parse_special : {false, true}) {
    const std::vector<mx::Token> ids = tok.encode(text, false, parse_special);
    for (mx::Token id : ids)
      require(tok.vocab().contains(id), "id outside the vocabulary", [&] { return escape(text); });
    if (tok.vocab().kind() != mx::VocabKind::kWpm) {
      const std::string back = tok.decode(ids, {.render_special = true});
      const std::string want = expected_round_trip(tok, text, parse_special);
      require(back == want, "decode(encode(x)) != x", [&] {
        return "vocab: " + tok.vocab().pre() + "\ninput: " + escape(text) + "\ngot:   " + escape(back) +
               "\nwant:  " + escape(want);
      });
    }
    check_stream(tok, ids, false);
    check_stream(tok, ids, true);

    const std::vector<mx::Token> with_bos = tok.encode(text, true, parse_special);
    if (tok.vocab().add_bos())
      require(!with_bos.empty() && with_bos.front() == tok.vocab().bos(), "BOS missing",
              [&] { return escape(text); });
    else
      require(with_bos == ids, "add_special changed a vocabulary without BOS", [&] { return escape(text); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mx::Tokenizer* const tokenizers[] = {
      load_tokenizer("models/stories260K.gguf"),
      load_tokenizer("tokenizer/ggml-vocab-gpt-2.gguf"),
      load_tokenizer("tokenizer/ggml-vocab-qwen2.gguf"),
      load_tokenizer("tokenizer/ggml-vocab-bert-bge.gguf"),
  };
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const mx::Tokenizer* tok : tokenizers)
    if (tok) check_tokenizer(*tok, text);

  // The bytes read as ids (any int16, so negative and out-of-range ids too).
  std::vector<mx::Token> ids;
  for (size_t i = 0; i + 1 < size; i += 2) ids.push_back(static_cast<int16_t>(data[i] | data[i + 1] << 8));
  for (const mx::Tokenizer* tok : tokenizers)
    if (tok) check_stream(*tok, ids, false);
  return 0;
}
