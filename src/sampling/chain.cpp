#include "sampling/chain.h"

#include <algorithm>
#include <cmath>

#include "sampling/min_p.h"
#include "sampling/mirostat.h"
#include "sampling/temperature.h"
#include "sampling/top_k.h"
#include "sampling/top_p.h"
#include "sampling/typical.h"
#include "sampling/xtc.h"

namespace mx {
namespace {

constexpr std::string_view kStageNames[] = {"penalties", "dry", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature"};

bool known_stage(std::string_view name) {
  return std::find(std::begin(kStageNames), std::end(kStageNames), name) != std::end(kStageNames);
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

Expected<std::vector<std::string>> parse_sampler_order(std::string_view text) {
  std::vector<std::string> order;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find_first_of(";,", start), text.size());
    std::string name(text.substr(start, end - start));
    if (name == "top-k") name = "top_k";
    if (name == "top-p") name = "top_p";
    if (name == "min-p") name = "min_p";
    if (name == "typical" || name == "typ-p" || name == "typical_p") name = "typ_p";
    if (name == "temp") name = "temperature";
    if (!name.empty()) {
      if (!known_stage(name))
        return make_error("unknown sampler '{}' (known: penalties, dry, top_k, typ_p, top_p, min_p, xtc, temperature)", name);
      order.push_back(name);
    }
    start = end + 1;
  }
  return order;
}

Status validate(const SamplingParams& p) {
  for (const std::string& s : p.order)
    if (!known_stage(s)) return make_error("unknown sampler '{}'", s);
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
  dry_ = static_cast<Dry*>(own(std::make_unique<Dry>(p.dry, p.dry_breakers)));
  const bool penalties_listed = std::count(p.order.begin(), p.order.end(), "penalties") > 0;
  const bool dry_listed = std::count(p.order.begin(), p.order.end(), "dry") > 0;
  if (!penalties_listed) stages_.push_back(penalties_);
  if (!dry_listed) stages_.push_back(dry_);
  for (const std::string& name : p.order) {
    if (name == "penalties") stages_.push_back(penalties_);
    else if (name == "dry") stages_.push_back(dry_);
    else if (greedy_) continue;  // greedy: only the stages that change logits matter
    else if (p.mirostat != 0) continue;  // mirostat does its own truncation
    else if (name == "top_k") stages_.push_back(own(std::make_unique<TopK>(p.top_k)));
    else if (name == "typ_p") stages_.push_back(own(std::make_unique<Typical>(p.typical_p)));
    else if (name == "top_p") stages_.push_back(own(std::make_unique<TopP>(p.top_p)));
    else if (name == "min_p") stages_.push_back(own(std::make_unique<MinP>(p.min_p)));
    else if (name == "xtc") stages_.push_back(own(std::make_unique<Xtc>(p.xtc_probability, p.xtc_threshold, rng_)));
    else if (name == "temperature")
      stages_.push_back(own(std::make_unique<Temperature>(p.temperature, p.dynatemp_range, p.dynatemp_exponent)));
  }
  if (p.mirostat != 0) {
    stages_.push_back(own(std::make_unique<Temperature>(p.temperature > 0 ? p.temperature : 1.0f)));
    mirostat_.emplace(p.mirostat, p.mirostat_tau, p.mirostat_eta, n_vocab);
  }
  reshapes_ = !p.logit_bias.empty() || p.penalties.active() || p.dry.active();
  const auto first_narrowing = std::find_if(stages_.begin(), stages_.end(), [this](Sampler* s) {
    return s != penalties_ && s != dry_;  // those two only reshape, and only when active
  });
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

Token SamplerChain::choose(std::span<const float> logits, bool constrained) {
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
