#include "engine/scheduler.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <utility>

namespace mx {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }
}  // namespace

struct Scheduler::Sequence {
  uint64_t id = 0;
  ScheduledRequest request;
  std::optional<Generation> generation;  // refers to request.options: a Sequence never moves
  int32_t slot = -1;
  size_t prompt_done = 0;        // prompt tokens already in the cache
  bool prompt_stored = false;    // its blocks went to the prefix cache
  std::optional<Token> pending;  // sampled, to run through the model next
  Drafter* drafter = nullptr;    // its slot's, when speculating
  std::vector<Token> drafts;     // run after `pending` in this step
  bool done = false;
  Clock::time_point submitted, first_token;

  bool prefilling() const { return prompt_done < request.prompt.size(); }
  bool scores_prompt() const { return request.options.prompt_logprobs; }
};

// A row of the batch whose logits are read: it chooses its sequence's next token, or
// (scoring a prompt) it gives the probability of the prompt token that follows it.
struct Scheduler::LogitsRow {
  Sequence* seq;
  std::optional<Token> prompt_next;
  std::optional<Token> ran;  // a generating row: the token it ran (its drafts follow it)
};

Scheduler::Scheduler(const Model& model, ExecContext& ctx, KvCache& cache, int64_t max_batch,
                     PrefixCache* prefix_cache, ForwardHook hook, DrafterFactory make_drafter)
    : model_(model),
      ctx_(ctx),
      cache_(cache),
      max_batch_(std::clamp<int64_t>(max_batch, 1, kMaxBatch)),
      prefix_cache_(prefix_cache),
      hook_(std::move(hook)),
      make_drafter_(std::move(make_drafter)),
      drafters_(static_cast<size_t>(cache.n_seq())) {
  for (int32_t s = cache.n_seq() - 1; s >= 0; --s) free_slots_.push_back(s);
}

Scheduler::~Scheduler() = default;

Expected<uint64_t> Scheduler::submit(ScheduledRequest request) {
  if (request.prompt.empty()) return make_error("the prompt is empty");
  const auto n = static_cast<int64_t>(request.prompt.size());
  if (n >= cache_.n_ctx())
    return make_error("the prompt has {} tokens but a sequence's context holds {}", n, cache_.n_ctx());
  auto s = std::make_unique<Sequence>();
  s->id = next_id_++;
  s->request = std::move(request);
  s->generation.emplace(s->request.options, model_.config.n_vocab, s->request.prompt);
  s->submitted = Clock::now();
  waiting_.push_back(std::move(s));
  return waiting_.back()->id;
}

void Scheduler::cancel(uint64_t id) { cancelled_.push_back(id); }

void Scheduler::end(Sequence& s, FinishReason reason, std::string error) {
  s.generation->finish(reason);
  s.generation->stats().error = std::move(error);
  s.done = true;
  GenerateStats& stats = s.generation->stats();
  const auto now = Clock::now();
  if (s.first_token == Clock::time_point{}) s.first_token = now;
  stats.prompt_seconds = seconds_between(s.submitted, s.first_token);
  stats.gen_seconds = seconds_between(s.first_token, now);
  if (s.slot >= 0) {
    cache_.clear(s.slot);
    free_slots_.push_back(s.slot);
    s.slot = -1;
  }
  if (s.request.on_done) s.request.on_done(stats);
}

void Scheduler::end_cancelled() {
  for (const uint64_t id : cancelled_) {
    auto match = [&](const std::unique_ptr<Sequence>& s) { return s->id == id && !s->done; };
    if (auto it = std::find_if(running_.begin(), running_.end(), match); it != running_.end()) {
      end(**it, FinishReason::kStopped);
    } else if (auto w = std::find_if(waiting_.begin(), waiting_.end(), match); w != waiting_.end()) {
      end(**w, FinishReason::kStopped);
      waiting_.erase(w);
    }
  }
  cancelled_.clear();
  std::erase_if(running_, [](const std::unique_ptr<Sequence>& s) { return s->done; });
}

int64_t Scheduler::reserved_pages() const {
  int64_t n = 0;
  for (const auto& s : running_)
    if (!s->done && s->prefilling()) n += cache_.pages_to_write(s->slot, static_cast<int64_t>(s->request.prompt.size()));
  return n;
}

void Scheduler::admit() {
  while (!waiting_.empty() && !free_slots_.empty()) {
    // The whole prompt's pages must be free beside what the prompts already reading need
    // (a prefix-cache hit may need fewer); until then it waits, and so do those behind it.
    const auto n_prompt = static_cast<int64_t>(waiting_.front()->request.prompt.size());
    if ((n_prompt + KvCache::kPageTokens - 1) / KvCache::kPageTokens > cache_.free_pages() - reserved_pages()) break;
    std::unique_ptr<Sequence> s = std::move(waiting_.front());
    waiting_.pop_front();
    s->slot = free_slots_.back();
    free_slots_.pop_back();
    cache_.clear(s->slot);
    if (prefix_cache_ && !s->scores_prompt()) {  // the last prompt token always runs: its logits choose the first token
      const auto& prompt = s->request.prompt;
      s->prompt_done = static_cast<size_t>(
          prefix_cache_->restore(prompt, static_cast<int64_t>(prompt.size()) - 1, s->slot));
      s->generation->stats().n_cached = static_cast<int64_t>(s->prompt_done);
    }
    if (make_drafter_) {
      auto& drafter = drafters_[static_cast<size_t>(s->slot)];
      if (!drafter) drafter = make_drafter_(ctx_, cache_.n_ctx());
      drafter->begin(0, s->request.prompt);
      s->drafter = drafter.get();
    }
    running_.push_back(std::move(s));
  }
}

Status Scheduler::run_batch(size_t n_logits, bool& out_of_memory) {
  out_of_memory = false;
  try {
    logits_.resize(n_logits * static_cast<size_t>(model_.config.n_vocab));
    const auto forward_pass = [this] { return forward(model_, batch_, cache_, ctx_, logits_.data()); };
    return hook_ ? hook_(batch_, forward_pass) : forward_pass();
  } catch (const std::bad_alloc&) {  // scratch or logits that could not grow: this batch fails, not the server
    out_of_memory = true;
    return make_error("out of memory running a batch of {} rows", batch_.size());
  }
}

Status Scheduler::step() {
  end_cancelled();
  admit();
  batch_.clear();
  std::vector<LogitsRow> wants_logits;  // the rows with logits, in batch order
  std::vector<Sequence*> members;       // the sequences with rows in the batch
  // Generating rows, oldest sequence first, take the pages the prompts being read do not
  // need. When there are none, the youngest generating sequence ends and gives its pages
  // back (it may be this one).
  int64_t taken = 0;
  auto spare = [&] { return cache_.free_pages() - reserved_pages() - taken; };
  auto youngest_generating = [&]() -> Sequence* {
    for (auto it = running_.rbegin(); it != running_.rend(); ++it)
      if (!(*it)->done && !(*it)->prefilling()) return it->get();
    return nullptr;
  };
  // Each generating sequence after this one needs a row of the batch: drafts take what is left.
  auto generating_after = static_cast<int64_t>(
      std::count_if(running_.begin(), running_.end(), [](const auto& s) { return !s->done && s->pending; }));
  for (auto& s : running_) {
    if (s->done || !s->pending) continue;
    --generating_after;
    const int64_t pos = cache_.length(s->slot);
    s->drafts.clear();
    if (s->drafter) {
      int64_t room = std::min(cache_.n_ctx() - pos - 1, max_batch_ - batch_.size() - 1 - generating_after);
      const auto& options = s->request.options;
      if (options.n_predict >= 0) room = std::min(room, options.n_predict - s->generation->stats().n_generated);
      s->drafts = s->drafter->propose(*s->pending, static_cast<int>(std::max<int64_t>(room, 0)));
      // Drafts only take pages that are spare; they never end another sequence.
      while (!s->drafts.empty() &&
             cache_.pages_to_write(s->slot, pos + 1 + static_cast<int64_t>(s->drafts.size())) > spare())
        s->drafts.pop_back();
    }
    const int64_t need = cache_.pages_to_write(s->slot, pos + 1 + static_cast<int64_t>(s->drafts.size()));
    while (!s->done && need > spare()) end(*youngest_generating(), FinishReason::kContextFull, "the KV cache is full");
    if (s->done) continue;
    taken += need;
    batch_.add(*s->pending, static_cast<int32_t>(pos), s->slot, true);
    for (size_t i = 0; i < s->drafts.size(); ++i)
      batch_.add(s->drafts[i], static_cast<int32_t>(pos + 1 + static_cast<int64_t>(i)), s->slot, true);
    wants_logits.push_back({s.get(), std::nullopt, s->pending});
    members.push_back(s.get());
  }
  const int64_t decode_rows = batch_.size();
  // Prompts fill what is left, oldest first: a chunk per sequence, its last token's logits
  // only when the chunk ends the prompt (every token's when the prompt is scored; those
  // chunks stay short, as each such row keeps a whole vocabulary of logits). Their pages
  // were kept for them.
  constexpr int64_t kScoringChunk = 32;
  std::vector<std::pair<Sequence*, size_t>> chunks;  // prompt tokens each reads in this batch
  for (auto& s : running_) {
    const int64_t room = max_batch_ - batch_.size();
    if (room <= 0) break;
    if (s->done || !s->prefilling()) continue;
    const auto& prompt = s->request.prompt;
    const size_t n = std::min<size_t>(static_cast<size_t>(s->scores_prompt() ? std::min(room, kScoringChunk) : room),
                                      prompt.size() - s->prompt_done);
    const int64_t start = cache_.length(s->slot);
    for (size_t i = 0; i < n; ++i) {
      const size_t at = s->prompt_done + i;
      const bool last = at + 1 == prompt.size();
      batch_.add(prompt[at], static_cast<int32_t>(start + i), s->slot, last || s->scores_prompt());
      if (last) wants_logits.push_back({s.get(), std::nullopt});
      else if (s->scores_prompt()) wants_logits.push_back({s.get(), prompt[at + 1]});
    }
    chunks.emplace_back(s.get(), n);
    members.push_back(s.get());
  }
  if (batch_.size() == 0) {
    std::erase_if(running_, [](const std::unique_ptr<Sequence>& s) { return s->done; });
    return {};
  }

  size_t n_logits = 0;
  for (const LogitsRow& w : wants_logits) n_logits += 1 + (w.ran ? w.seq->drafts.size() : 0);
  bool out_of_memory = false;
  if (auto st = run_batch(n_logits, out_of_memory); !st) {
    // Every request of the failed batch ends with the error; the others never saw it.
    for (Sequence* s : members)
      end(*s, out_of_memory ? FinishReason::kOutOfMemory : FinishReason::kError, st.error().message);
    std::erase_if(running_, [](const std::unique_ptr<Sequence>& s) { return s->done; });
    return st;
  }
  for (auto& [s, n] : chunks) s->prompt_done += n;
  ++stats_.steps;
  stats_.decode_rows += decode_rows;
  stats_.prompt_rows += batch_.size() - decode_rows;
  stats_.max_batch = std::max(stats_.max_batch, batch_.size());

  const size_t n_vocab = static_cast<size_t>(model_.config.n_vocab);
  if (prefix_cache_)
    for (auto& s : running_)
      if (!s->done && !s->prefilling() && !s->prompt_stored) {
        prefix_cache_->store(s->request.prompt, s->slot);
        s->prompt_stored = true;
      }
  size_t row_at = 0;  // the first logits row of each entry
  for (const LogitsRow& w : wants_logits) {
    Sequence& s = *w.seq;
    const size_t n_drafts = w.ran ? s.drafts.size() : 0;
    const std::span<const float> rows(logits_.data() + row_at * n_vocab, (1 + n_drafts) * n_vocab);
    row_at += 1 + n_drafts;
    if (w.prompt_next) {
      if (s.request.callbacks.on_prompt_logprobs)
        s.request.callbacks.on_prompt_logprobs(step_logprobs(rows, *w.prompt_next, s.request.options.top_logprobs));
      continue;
    }
    if (s.first_token == Clock::time_point{}) s.first_token = Clock::now();
    s.pending.reset();
    const std::span<const Token> drafts = std::span(s.drafts).first(n_drafts);
    size_t accepted = 0;
    const std::optional<Token> tok = s.generation->next_after_drafts(rows, drafts, s.request.callbacks, accepted);
    if (w.ran && s.drafter) {
      // The cache keeps the token run and the drafts taken; the rest are undone.
      cache_.set_length(s.slot, cache_.length(s.slot) - static_cast<int64_t>(n_drafts - accepted));
      s.drafter->advance(*w.ran, drafts.first(accepted));
      s.generation->stats().n_drafted += static_cast<int64_t>(n_drafts);
      s.generation->stats().n_accepted += static_cast<int64_t>(accepted);
      stats_.drafted += static_cast<int64_t>(n_drafts);
      stats_.accepted += static_cast<int64_t>(accepted);
    }
    if (!tok) {
      end(s, s.generation->stats().finish);
    } else if (cache_.length(s.slot) >= cache_.n_ctx()) {
      end(s, FinishReason::kContextFull);
    } else {
      s.pending = tok;
    }
  }
  std::erase_if(running_, [](const std::unique_ptr<Sequence>& s) { return s->done; });
  return {};
}

}  // namespace mx
