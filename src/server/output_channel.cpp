#include "server/output_channel.h"

#include <limits>

namespace mx::server {

OutputChannel::OutputChannel(const Tokenizer& tokenizer, std::vector<std::string> stops, bool starts_text,
                             bool render_special)
    : state_(std::make_shared<State>(tokenizer, std::move(stops), starts_text, render_special)) {}

void OutputChannel::attach(ScheduledRequest& request) {
  auto state = state_;  // the callbacks keep the state alive as long as the runner holds them
  request.callbacks.is_end = [state](Token t) { return state->tokenizer.vocab().is_eog(t); };
  request.callbacks.on_logprobs = [state](const StepLogprobs& lp) {
    std::lock_guard lock(state->mutex);
    state->pending.logprobs.push_back(lp);
  };
  if (request.options.prompt_logprobs && !request.prompt.empty()) {
    // Nothing precedes the first prompt token: it has no probability (NaN, sent as null).
    state->pending.logprobs.push_back({{request.prompt.front(), std::numeric_limits<float>::quiet_NaN()}, {}});
    request.callbacks.on_prompt_logprobs = request.callbacks.on_logprobs;
  }
  request.callbacks.on_token = [state](Token t) {
    const std::string text = state->stops.push(state->decoder.push(t));
    {
      std::lock_guard lock(state->mutex);
      state->pending.text += text;
    }
    state->changed.notify_all();
    return !state->stops.stopped();
  };
  request.on_done = [state](const GenerateStats& stats) {
    const bool matched = state->stops.stopped();
    std::string tail;
    if (!matched) {
      tail = state->stops.push(state->decoder.flush());
      tail += state->stops.flush();
    }
    {
      std::lock_guard lock(state->mutex);
      state->pending.text += tail;
      state->pending.done = stats;
      if (matched) state->pending.stop_matched = state->stops.matched();
    }
    state->changed.notify_all();
  };
}

OutputChannel::Update OutputChannel::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait_for(lock, timeout, [&] {
    return !state_->pending.text.empty() || !state_->pending.logprobs.empty() || state_->pending.done;
  });
  Update out = std::move(state_->pending);
  state_->pending = Update{};
  if (out.done) state_->pending.done = out.done;  // later waits still see the end
  if (out.done) state_->pending.stop_matched = out.stop_matched;
  return out;
}

}  // namespace mx::server
