#include "sampling/chain.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "sampling/logit_bias.h"
#include "sampling/min_p.h"
#include "sampling/mirostat.h"
#include "sampling/temperature.h"
#include "sampling/top_k.h"
#include "sampling/top_p.h"
#include "sampling/typical.h"
#include "sampling/xtc.h"

namespace mx {
namespace {

// A stage that truncates or reshapes; penalties and DRY are the chain's own (they keep history).
std::unique_ptr<Sampler> make_stage(SamplerStage stage, const SamplingParams& p, Rng& rng) {
  switch (stage) {
    case SamplerStage::kTopK: return std::make_unique<TopK>(p.top_k);
    case SamplerStage::kTypicalP: return std::make_unique<Typical>(p.typical_p);
    case SamplerStage::kTopP: return std::make_unique<TopP>(p.top_p);
    case SamplerStage::kMinP: return std::make_unique<MinP>(p.min_p);
    case SamplerStage::kXtc: return std::make_unique<Xtc>(p.xtc_probability, p.xtc_threshold, rng);
    case SamplerStage::kTemperature:
      return std::make_unique<Temperature>(p.temperature, p.dynatemp_range, p.dynatemp_exponent);
    case SamplerStage::kPenalties:
    case SamplerStage::kDry: break;
  }
  MX_CHECK(false && "not a truncating stage");
  return nullptr;
}

}  // namespace

Token argmax(std::span<const float> logits) {
  // Eight running maxima, so no compare waits for the one before; then the first index
  // holding the largest. (One running index made each step wait for the last load.)
  constexpr size_t kLanes = 8;
  float m[kLanes];
  std::fill(std::begin(m), std::end(m), -INFINITY);
  size_t i = 0;
  for (; i + kLanes <= logits.size(); i += kLanes)
    for (size_t k = 0; k < kLanes; ++k) m[k] = logits[i + k] > m[k] ? logits[i + k] : m[k];
  for (; i < logits.size(); ++i) m[0] = logits[i] > m[0] ? logits[i] : m[0];
  const float best = *std::max_element(std::begin(m), std::end(m));
  for (i = 0; i < logits.size(); ++i)
    if (logits[i] == best) return static_cast<Token>(i);
  return 0;  // empty, or only NaN
}

Status validate(const SamplingParams& p) {
  auto in = [](float v, float lo, float hi) { return v >= lo && v <= hi; };
  if (!in(p.top_p, 0.0f, 1.0f)) return make_error("top-p must be in [0, 1], got {}", p.top_p);
  if (!in(p.min_p, 0.0f, 1.0f)) return make_error("min-p must be in [0, 1], got {}", p.min_p);
  if (!in(p.typical_p, 0.0f, 1.0f)) return make_error("typical-p must be in [0, 1], got {}", p.typical_p);
  if (!in(p.xtc_probability, 0.0f, 1.0f)) return make_error("xtc-probability must be in [0, 1]");
  if (p.penalties.repeat <= 0.0f) return make_error("repeat-penalty must be > 0, got {}", p.penalties.repeat);
  if (p.penalties.last_n < -1) return make_error("repeat-last-n must be >= -1");
  if (p.dry.multiplier < 0.0f || p.dry.base < 1.0f) return make_error("dry-multiplier must be >= 0 and dry-base >= 1");
  if (p.dry.allowed_length < 0) return make_error("dry-allowed-length must be >= 0");
  if (p.mirostat < 0 || p.mirostat > 2) return make_error("mirostat must be 0, 1 or 2, got {}", p.mirostat);
  if (p.dynatemp_range < 0.0f) return make_error("dynatemp-range must be >= 0");
  return {};
}

SamplerChain::SamplerChain(const SamplingParams& p, int64_t n_vocab)
    : rng_(p.seed), greedy_(p.temperature <= 0.0f && p.mirostat == 0) {
  auto own = [this](std::unique_ptr<Sampler> s) {
    Sampler* raw = s.get();
    owned_.push_back(std::move(s));
    return raw;
  };
  if (!p.logit_bias.empty()) stages_.push_back(own(std::make_unique<LogitBias>(p.logit_bias)));
  // Penalties and DRY always exist (they keep history) so the loop guard can switch them on.
  penalties_ = static_cast<Penalties*>(own(std::make_unique<Penalties>(p.penalties)));
  std::vector<Token> breakers = p.dry_breakers ? p.dry_breakers->tokens : std::vector<Token>{};
  dry_ = static_cast<Dry*>(own(std::make_unique<Dry>(p.dry, std::move(breakers))));
  const auto listed = [&](SamplerStage s) { return std::find(p.order.begin(), p.order.end(), s) != p.order.end(); };
  if (!listed(SamplerStage::kPenalties)) stages_.push_back(penalties_);
  if (!listed(SamplerStage::kDry)) stages_.push_back(dry_);
  for (const SamplerStage stage : p.order) {
    if (stage == SamplerStage::kPenalties) stages_.push_back(penalties_);
    else if (stage == SamplerStage::kDry) stages_.push_back(dry_);
    // Greedy: only the stages that change logits matter. Mirostat does its own truncation.
    else if (!greedy_ && p.mirostat == 0) stages_.push_back(own(make_stage(stage, p, rng_)));
  }
  if (p.mirostat != 0) {
    stages_.push_back(own(std::make_unique<Temperature>(p.temperature > 0 ? p.temperature : 1.0f)));
    mirostat_.emplace(p.mirostat, p.mirostat_tau, p.mirostat_eta, n_vocab);
  }
  reshapes_ = !p.logit_bias.empty() || p.penalties.active() || p.dry.active();
  const auto first_narrowing = std::find_if(stages_.begin(), stages_.end(), [this](Sampler* s) {
    // Penalties and DRY only reshape, and only when active; so does a logit bias.
    return s != penalties_ && s != dry_ && !dynamic_cast<const LogitBias*>(s);
  });
  first_narrowing_ = static_cast<size_t>(first_narrowing - stages_.begin());
  if (first_narrowing != stages_.end())
    // (An insertion into the kept list moves up to k entries: large k takes the sort.)
    if (const auto* top_k = dynamic_cast<const TopK*>(*first_narrowing); top_k && top_k->k() > 0 && top_k->k() <= 256)
      prefilter_k_ = top_k->k();
  if (p.grammar) grammar_ = std::make_unique<GrammarSampler>(*p.grammar);
  if (p.texts) utf8_ = std::make_unique<Utf8Guard>(p.texts);
}

void SamplerChain::accept(Token t) {
  penalties_->accept(t);
  dry_->accept(t);
}

void SamplerChain::strengthen_penalties(const PenaltyParams& penalties, const DryParams& dry) {
  penalties_->set_params(penalties);
  dry_->set_params(dry);
  reshapes_ = true;
}

// Candidates checked one by one before a constrained choice falls back to the mask.
constexpr size_t kAllowedSearch = 256;

std::optional<Token> SamplerChain::choose_allowed(std::span<const float> logits) {
  const size_t k = greedy_ ? 1 : static_cast<size_t>(prefilter_k_);
  // The best allowed tokens, found by checking the likeliest candidates one by one
  // (nanoseconds each) instead of masking the whole vocabulary. A model that keeps to the
  // grammar has them among its first few hundred; one that does not gets the mask.
  // Ties: the lower id first, as top-k orders them.
  std::vector<Candidate>& items = candidates_.items;
  const size_t m = std::min<size_t>(logits.size(), kAllowedSearch);
  if (reshapes_) {
    candidates_.reset(logits);
    for (size_t i = 0; i < first_narrowing_; ++i) stages_[i]->apply(candidates_);  // the reshaping ones
    std::partial_sort(items.begin(), items.begin() + static_cast<ptrdiff_t>(m), items.end(),
                      [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); });
  } else {
    candidates_.reset_top(logits, m);
  }
  std::vector<Candidate>& kept = allowed_;  // reused: no allocation per step
  kept.clear();
  for (size_t i = 0; i < m && kept.size() < k; ++i)
    if (items[i].logit > -INFINITY && allowed(items[i].id)) kept.push_back(items[i]);
  if (kept.size() < k && m < logits.size()) return std::nullopt;
  if (kept.empty()) return std::nullopt;
  items.swap(kept);
  candidates_.sorted = true;
  for (size_t i = first_narrowing_; i < stages_.size(); ++i) stages_[i]->apply(candidates_);
  if (greedy_) return candidates_.items.front().id;
  return draw(candidates_, rng_);
}

Token SamplerChain::choose(std::span<const float> logits, bool constrained) {
  // Top-k comes first among the stages that narrow (or the choice is greedy): only the k
  // best allowed tokens matter, so they are looked for directly.
  if (constrained && !mirostat_ && (greedy_ || prefilter_k_ > 0))
    if (const std::optional<Token> t = choose_allowed(logits)) return *t;
  if (greedy_ && !reshapes_ && !constrained) return argmax(logits);
  // Nothing reshapes the logits before top-k: only its k survive, so only they become
  // candidates (a pass over the vocabulary instead of a candidate per entry and a sort).
  if (prefilter_k_ > 0 && !reshapes_ && !constrained) candidates_.reset_top(logits, static_cast<size_t>(prefilter_k_));
  else candidates_.reset(logits);
  if (constrained && grammar_) {
    grammar_->apply(candidates_);
    const bool any = std::any_of(candidates_.items.begin(), candidates_.items.end(),
                                 [](const Candidate& c) { return c.logit > -INFINITY; });
    if (!any) return grammar_->dead_end();
  }
  if (constrained && utf8_) utf8_->apply(candidates_);
  for (Sampler* s : stages_) s->apply(candidates_);
  if (greedy_) {
    candidates_.sort_desc();
    return candidates_.items.front().id;
  }
  if (mirostat_) return mirostat_->choose(candidates_, rng_);
  return draw(candidates_, rng_);
}

bool SamplerChain::allowed(Token t) const {
  return (!grammar_ || grammar_->allows(t)) && (!utf8_ || utf8_->allows(t));
}

Token SamplerChain::sample(std::span<const float> logits) {
  // With a grammar or the UTF-8 guard, the unconstrained choice is tried first: checking
  // one token is cheap, masking the whole vocabulary is not, and the model usually keeps
  // to both. (Mirostat learns from each choice, so it always samples constrained.)
  const bool constraints = grammar_ || utf8_;
  Token chosen = choose(logits, constraints && mirostat_);
  if (constraints && !allowed(chosen)) chosen = choose(logits, true);
  if (chosen < 0) return chosen;  // nothing can follow (callers end generation)
  if (grammar_) grammar_->accept(chosen);
  if (utf8_) utf8_->accept(chosen);
  accept(chosen);
  return chosen;
}

}  // namespace mx
