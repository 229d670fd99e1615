// Continuous batching: many generations share the model. Each step runs ONE forward batch
// holding the next token of every sequence that is generating plus chunks of prompts
// still being read (chunked prefill), so a long prompt never stalls the others' streams
// for more than a step. Up to n_seq sequences hold a KV-cache slot; further requests
// wait in order of arrival. Cancelling one request touches only that request.
//
// Faults end exactly the requests they touch: a forward pass that fails ends every
// sequence with rows in its batch (FinishReason::kError, or kOutOfMemory when memory ran
// out), and the next step goes on with the rest. When the KV cache holds less than every
// sequence's whole context, a request is admitted only when the free pages hold its whole
// prompt beside the prompts already reading, and a generating sequence that finds no page
// to grow into ends as kContextFull (the youngest first), so no step ever runs out of pages.
//
// Not thread-safe: one thread submits, cancels and steps (the server serialises access).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/generate.h"
#include "engine/generation.h"
#include "engine/prefix_cache.h"

namespace mx {

struct ScheduledRequest {
  std::vector<Token> prompt;
  GenerateOptions options;
  GenerateCallbacks callbacks;                      // called from step()
  std::function<void(const GenerateStats&)> on_done;  // once, when the request ends
};

// Runs one step's forward pass: `forward` is the model's. A test wraps it to make chosen
// steps fail (return an error, or throw std::bad_alloc as an allocation would).
using ForwardHook = std::function<Status(const Batch& batch, const std::function<Status()>& forward)>;

struct SchedulerStats {
  int64_t steps = 0;
  int64_t decode_rows = 0;   // generated-token rows run
  int64_t prompt_rows = 0;   // prompt-token rows run
  int64_t max_batch = 0;     // most rows in one step
  int64_t drafted = 0;       // speculative decoding: tokens proposed and checked,
  int64_t accepted = 0;      // and of them, taken
};

class Scheduler {
 public:
  // `cache` has one slot per concurrent sequence (KvCache n_seq); `max_batch` bounds the
  // rows of one step (decode rows first, prompt chunks fill the rest). With `prefix_cache`,
  // a sequence starts from the longest stored prefix of its prompt, and stores its prompt's
  // blocks once they are computed. `hook` (may be null) wraps every forward pass. With
  // `make_drafter`, every generating sequence speculates: its step runs its next token and
  // its drafter's guesses, and takes the ones its sampler agrees with (Generation).
  Scheduler(const Model& model, ExecContext& ctx, KvCache& cache, int64_t max_batch = kMaxBatch,
            PrefixCache* prefix_cache = nullptr, ForwardHook hook = nullptr,
            DrafterFactory make_drafter = nullptr);
  ~Scheduler();

  // Queues a request; its id, or an error if it can never run (empty, or a prompt that
  // leaves no room to generate in a slot's context).
  Expected<uint64_t> submit(ScheduledRequest request);
  // Ends the request with FinishReason::kStopped before the next step runs anything of it.
  void cancel(uint64_t id);
  // Runs one forward batch. Returns an error only if the model fails; the requests of the
  // batch have then ended with it.
  Status step();

  bool idle() const { return running_.empty() && waiting_.empty(); }
  size_t running() const { return running_.size(); }
  size_t waiting() const { return waiting_.size(); }
  const SchedulerStats& stats() const { return stats_; }

 private:
  struct Sequence;
  struct LogitsRow;
  void admit();
  // KV pages the prompts being read still need (kept for them: generating rows never take them).
  int64_t reserved_pages() const;
  // Runs the batch; an error (a caught std::bad_alloc among them) if it failed.
  Status run_batch(size_t n_logits, bool& out_of_memory);
  void end(Sequence& s, FinishReason reason, std::string error = {});
  void end_cancelled();

  const Model& model_;
  ExecContext& ctx_;
  KvCache& cache_;
  int64_t max_batch_;
  PrefixCache* prefix_cache_;
  ForwardHook hook_;
  DrafterFactory make_drafter_;
  std::vector<std::unique_ptr<Drafter>> drafters_;  // per slot, made on first use
  uint64_t next_id_ = 1;
  std::vector<std::unique_ptr<Sequence>> running_;  // hold a slot, in order of admission
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<int32_t> free_slots_;
  std::vector<uint64_t> cancelled_;
  std::vector<float> logits_;
  Batch batch_;
  SchedulerStats stats_;
};

}  // namespace mx
