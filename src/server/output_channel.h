// One request's output, handed from the batch runner's thread (which generates it) to the
// HTTP thread (which sends it). Tokens become text here, on the runner's side: whole UTF-8
// characters only, stop strings held back until they are decided and never sent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/generate.h"
#include "engine/stop_sequences.h"
#include "engine/scheduler.h"
#include "tokenizer/stream_decoder.h"

namespace mx::server {

class OutputChannel {
 public:
  // `starts_text`: the output is a text of its own (a chat message): no leading space.
  // `render_special`: control tokens become their text (tool-call markers and channel tags a
  // reply parser must see; end-of-generation tokens end the output and never show).
  OutputChannel(const Tokenizer& tokenizer, std::vector<std::string> stops, bool starts_text,
                bool render_special = false);

  // Installs the callbacks that feed this channel into a request.
  void attach(ScheduledRequest& request);

  struct Update {
    std::string text;                  // new text since the last update
    std::vector<StepLogprobs> logprobs;  // one per new token, if asked for
    std::optional<GenerateStats> done;   // set once generation has ended
    std::optional<std::string> stop_matched;  // the stop string it ended at, if any
  };
  // Waits until there is something new or `timeout` passes (then the update may be empty).
  Update wait(std::chrono::milliseconds timeout);

 private:
  struct State {
    explicit State(const Tokenizer& t, std::vector<std::string> stops, bool starts_text, bool render_special)
        : tokenizer(t),
          decoder(t, {.render_special = render_special, .strip_space_prefix = starts_text, .drop_unfinished_tail = true}),
          stops(std::move(stops)) {}
    const Tokenizer& tokenizer;
    StreamDecoder decoder;  // runner thread only
    StopMatcher stops;      // runner thread only
    std::mutex mutex;
    std::condition_variable changed;
    Update pending;         // guarded by mutex
  };
  std::shared_ptr<State> state_;
};

}  // namespace mx::server
