// Lazy grammars: free text until a trigger word, then the grammar constrains the rest with
// the trigger as its first text. A tiny vocabulary and fixed logits give known answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "sampling/chain.h"
#include "sampling/gbnf.h"
#include "sampling/grammar_sampler.h"
#include "sampling/lazy_grammar.h"

namespace mx {
namespace {

std::shared_ptr<const Grammar> grammar(std::string_view text) {
  auto g = parse_gbnf(text);
  EXPECT_TRUE(g.ok()) << g.error().message;
  return g.ok() ? std::make_shared<const Grammar>(std::move(*g)) : nullptr;
}

// A Hermes-like call: the grammar's root starts WITH the trigger.
constexpr std::string_view kCall = R"(root ::= "<tool_call>{" "\"a\""? "}</tool_call>")";
enum : Token {
  kEos, kHi, kThere, kTrigger, kOpenHalf, kCloseHalf, kPrefixed, kBrace, kClose, kA, kX, kTriggerBrace, kTriggerX,
  kEndCall, kLt, kToolWord, kVocab
};
const std::vector<std::string> kTexts = {
    "", "Hi", " there", "<tool_call>", "<tool", "_call>", "ok<tool_call>", "{", "}", "\"a\"", "x", "<tool_call>{",
    "<tool_call>x", "</tool_call>", "<", "tool",
};

GrammarConstraint call_constraint(std::vector<LazyTrigger> triggers = {{.words = {"<tool_call>"}}}) {
  return {grammar(kCall), std::make_shared<const TokenTexts>(kTexts), {kEos}, std::move(triggers)};
}

// The tokens whose logits apply() leaves finite (all logits 0 before).
std::vector<Token> allowed(GrammarSampler& s, size_t n = kVocab) {
  Candidates c;
  c.reset(std::vector<float>(n, 0.0f));
  s.apply(c);
  std::vector<Token> ids;
  for (const Candidate& x : c.items)
    if (x.logit > -INFINITY) ids.push_back(x.id);
  std::sort(ids.begin(), ids.end());
  for (Token t = 0; t < static_cast<Token>(n); ++t)  // allows() agrees with the mask
    EXPECT_EQ(s.allows(t), std::binary_search(ids.begin(), ids.end(), t)) << "token " << t;
  return ids;
}

std::vector<Token> all_but(std::vector<Token> refused, size_t n = kVocab) {
  std::vector<Token> ids;
  for (Token t = 0; t < static_cast<Token>(n); ++t)
    if (std::find(refused.begin(), refused.end(), t) == refused.end()) ids.push_back(t);
  return ids;
}

// After the trigger: `{`, then `"a"` or `}`, then `</tool_call>` (or its `<`), then only the end.
void expect_constrained_call(GrammarSampler& s) {
  EXPECT_FALSE(s.waiting());
  EXPECT_FALSE(s.is_complete());
  EXPECT_EQ(allowed(s), std::vector<Token>{kBrace});
  s.accept(kBrace);
  EXPECT_EQ(allowed(s), (std::vector<Token>{kClose, kA}));
  s.accept(kA);
  EXPECT_EQ(allowed(s), std::vector<Token>{kClose});
  s.accept(kClose);
  EXPECT_EQ(allowed(s), (std::vector<Token>{kEndCall, kLt}));
  s.accept(kEndCall);
  EXPECT_TRUE(s.is_complete());
  EXPECT_EQ(allowed(s), std::vector<Token>{kEos});
}

TEST(LazyGrammar, FreeTextThenTriggerInOneToken) {
  GrammarSampler s(call_constraint());
  EXPECT_TRUE(s.waiting());
  EXPECT_TRUE(s.is_complete());  // ending before any call is fine
  // Free text: everything but a trigger followed by text the call cannot continue with.
  EXPECT_EQ(allowed(s), all_but({kTriggerX}));
  s.accept(kHi);
  s.accept(kThere);
  EXPECT_TRUE(s.waiting());
  EXPECT_EQ(allowed(s), all_but({kTriggerX}));
  s.accept(kTrigger);
  expect_constrained_call(s);
}

TEST(LazyGrammar, TriggerSplitAcrossTokens) {
  GrammarSampler s(call_constraint());
  s.accept(kHi);
  s.accept(kOpenHalf);
  EXPECT_TRUE(s.waiting());
  // "<tool" is pending: "_call>" would complete it. Still free, still allowed.
  EXPECT_EQ(allowed(s), all_but({kTriggerX}));
  s.accept(kCloseHalf);
  expect_constrained_call(s);

  GrammarSampler three(call_constraint());  // "<" "tool" "_call>"
  three.accept(kLt);
  three.accept(kToolWord);
  EXPECT_TRUE(three.waiting());
  three.accept(kCloseHalf);
  expect_constrained_call(three);
}

TEST(LazyGrammar, TriggerInsideATokenWithFreeTextBeforeIt) {
  GrammarSampler s(call_constraint());
  s.accept(kHi);
  s.accept(kPrefixed);  // "ok" is free text, "<tool_call>" goes to the grammar
  expect_constrained_call(s);
}

TEST(LazyGrammar, TextAfterTheTriggerInTheSameTokenGoesToTheGrammar) {
  GrammarSampler s(call_constraint());
  s.accept(kTriggerBrace);
  EXPECT_FALSE(s.waiting());
  EXPECT_EQ(allowed(s), (std::vector<Token>{kClose, kA}));
  // A continuation the grammar rejects is refused before the trigger; fed anyway, the
  // text stays free.
  GrammarSampler bad(call_constraint());
  EXPECT_FALSE(bad.allows(kTriggerX));
  bad.accept(kTriggerX);
  EXPECT_TRUE(bad.waiting());
}

TEST(LazyGrammar, ABrokenTriggerDoesNotFire) {
  GrammarSampler s(call_constraint());
  for (Token t : {kHi, kOpenHalf, kX, kBrace, kClose, kA, kEndCall, kThere, kLt, kThere}) {
    s.accept(t);
    EXPECT_TRUE(s.waiting()) << kTexts[static_cast<size_t>(t)];
  }
  EXPECT_TRUE(s.is_complete());
  EXPECT_EQ(allowed(s), all_but({kTriggerX}));
}

TEST(LazyGrammar, CallerTextFiresLikeGeneratedText) {
  GrammarSampler s(call_constraint());
  s.accept_bytes("Sure. <tool_");
  EXPECT_TRUE(s.waiting());
  s.accept_bytes("call>");
  expect_constrained_call(s);
}

TEST(LazyGrammar, ATriggerTheGrammarCannotBeginWithLeavesTheOutputFree) {
  // The grammar wants "[TOOL_CALLS]" first: "<tool_call>" can never start it.
  GrammarConstraint c = call_constraint();
  c.grammar = grammar(R"(root ::= "[TOOL_CALLS]" "{}")");
  GrammarSampler s(c);
  s.accept(kTrigger);
  EXPECT_TRUE(s.waiting());
  EXPECT_EQ(allowed(s), all_but({}));  // nothing refused: no word can fire
}

TEST(LazyGrammar, EarliestOfSeveralWordsFires) {
  GrammarConstraint c = call_constraint({{.words = {"call>", "<tool_call>"}}});
  GrammarSampler s(c);  // "call>" cannot begin the grammar: only "<tool_call>" is live
  s.accept(kOpenHalf);
  s.accept(kCloseHalf);
  expect_constrained_call(s);

  TriggerDetector d({{.words = {"ab", "b", "abc"}}});
  EXPECT_EQ(d.peek("xabcd"), "abcd");  // "ab" and "abc" start first; the longer one wins
  EXPECT_EQ(d.feed("xa"), std::nullopt);
  EXPECT_EQ(d.feed("bz"), "abz");  // the match began in the earlier text
  EXPECT_EQ(d.feed("b"), "b");
}

TEST(LazyGrammar, ControlTokenTriggerStartsTheGrammarAfterIt) {
  // Mistral-like: [TOOL_CALLS] is a control token, text "" (no word can match it); the
  // grammar describes what follows it.
  enum : Token { kE, kToolCalls, kW, kOpen, kObj, kShut, kN };
  GrammarSampler s({grammar(R"(root ::= "[" "{}" "]")"),
                    std::make_shared<const TokenTexts>(std::vector<std::string>{"", "", "Hi", "[", "{}", "]"}), {kE},
                    {{.tokens = {kToolCalls}}}});
  s.accept(kW);
  s.accept(kOpen);  // "[" as free text is no trigger
  EXPECT_TRUE(s.waiting());
  EXPECT_EQ(allowed(s, kN), all_but({}, kN));
  s.accept(kToolCalls);
  EXPECT_FALSE(s.waiting());
  EXPECT_EQ(allowed(s, kN), std::vector<Token>{kOpen});
  s.accept(kOpen);
  s.accept(kObj);
  s.accept(kShut);
  EXPECT_EQ(allowed(s, kN), std::vector<Token>{kE});
}

// A JSON fallback: `{"` fires only where the reply begins (after whitespace).
constexpr std::string_view kJson = R"(root ::= "{\"a\": " [0-9]+ "}")";
const std::vector<std::string> kJsonTexts = {"", " ", "\n", "{\"", "a\": ", "1", "}", "Hi", "{", "\"", "x{\""};
enum : Token { kJEos, kJSpace, kJNewline, kJOpen, kJKey, kJOne, kJClose, kJHi, kJBrace, kJQuote, kJPrefixed, kJVocab };

GrammarSampler json_sampler() {
  return GrammarSampler({grammar(kJson), std::make_shared<const TokenTexts>(kJsonTexts), {kJEos},
                         {{.words = {"{\""}, .at_start_only = true}}});
}

TEST(LazyGrammar, AtStartOnlyFiresAtTheBeginningAfterWhitespace) {
  GrammarSampler s = json_sampler();
  s.accept(kJSpace);
  s.accept(kJNewline);
  EXPECT_TRUE(s.waiting());
  s.accept(kJOpen);
  EXPECT_FALSE(s.waiting());
  EXPECT_EQ(allowed(s, kJVocab), std::vector<Token>{kJKey});
  s.accept(kJKey);
  s.accept(kJOne);
  EXPECT_EQ(allowed(s, kJVocab), (std::vector<Token>{kJOne, kJClose}));
  s.accept(kJClose);
  EXPECT_EQ(allowed(s, kJVocab), std::vector<Token>{kJEos});

  GrammarSampler split = json_sampler();  // "{" then "\""
  split.accept(kJBrace);
  EXPECT_TRUE(split.waiting());
  split.accept(kJQuote);
  EXPECT_FALSE(split.waiting());
  EXPECT_EQ(allowed(split, kJVocab), std::vector<Token>{kJKey});
}

TEST(LazyGrammar, AtStartOnlyNeverFiresAfterText) {
  GrammarSampler later = json_sampler();
  later.accept(kJHi);
  later.accept(kJSpace);
  later.accept(kJOpen);
  EXPECT_TRUE(later.waiting());
  EXPECT_EQ(allowed(later, kJVocab), all_but({}, kJVocab));

  GrammarSampler inside = json_sampler();
  inside.accept(kJPrefixed);  // "x{\"": text before the word
  EXPECT_TRUE(inside.waiting());

  GrammarSampler brace_text = json_sampler();  // "{" then text: the start has passed
  brace_text.accept(kJBrace);
  brace_text.accept(kJHi);
  brace_text.accept(kJOpen);
  EXPECT_TRUE(brace_text.waiting());
}

TEST(LazyGrammar, CopiesAndSamplersOfOneConstraintAreIndependent) {
  const GrammarConstraint c = call_constraint();
  GrammarSampler a(c), b(c);
  a.accept(kHi);
  a.accept(kOpenHalf);
  GrammarSampler copy = a;  // a sequence forked mid-trigger keeps the pending "<tool"
  copy.accept(kCloseHalf);
  EXPECT_FALSE(copy.waiting());
  EXPECT_TRUE(a.waiting());
  a.accept(kThere);  // the original goes on as free text
  EXPECT_TRUE(a.waiting());
  EXPECT_TRUE(b.waiting());
  b.accept(kCloseHalf);  // b never saw "<tool"
  EXPECT_TRUE(b.waiting());
  expect_constrained_call(copy);
}

// Drawn random logits; the lazy chain must draw exactly what a chain without a grammar
// draws until the trigger, and only grammar text after it.
TEST(LazyGrammar, ChainSamplesAsWithoutGrammarUntilTheTrigger) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  int fired = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::vector<std::vector<float>> steps(30, std::vector<float>(kVocab));
    for (auto& l : steps)
      for (float& x : l) x = normal(rng);
    SamplingParams free{.temperature = 1.0f, .top_k = 8, .top_p = 0.95f, .min_p = 0.0f, .seed = seed};
    SamplingParams lazy = free;
    lazy.grammar = call_constraint();
    for (auto& l : steps) l[kTriggerX] = -INFINITY;  // the one token the lazy chain refuses
    SamplerChain plain(free), constrained(lazy);
    GrammarSampler check(call_constraint());
    std::string text;
    bool triggered = false;
    for (const auto& l : steps) {
      const Token t = constrained.sample(l);
      if (!triggered) {
        EXPECT_EQ(t, plain.sample(l)) << "seed " << seed << " after " << text;
      } else {
        if (t == kEos) break;
        EXPECT_TRUE(check.allows(t)) << "seed " << seed << " token " << t << " after " << text;
      }
      check.accept(t);
      if (t != kEos) text += kTexts[static_cast<size_t>(t)];
      triggered = !check.waiting();
    }
    fired += triggered;
  }
  EXPECT_GT(fired, 5);  // the draws reach a trigger often enough to test the second part
}

TEST(LazyGrammar, ChainThatNeverTriggersIsUnconstrained) {
  // Free-text tokens only (no '>' anywhere): identical draws throughout, end included.
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<std::vector<float>> steps(60, std::vector<float>(kVocab, -INFINITY));
  for (auto& l : steps)
    for (Token t : {kEos, kHi, kThere, kOpenHalf, kBrace, kClose, kA, kX, kLt, kToolWord}) l[t] = normal(rng);
  SamplingParams free{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 11};
  SamplingParams lazy = free;
  lazy.grammar = call_constraint();
  SamplerChain plain(free), constrained(lazy);
  for (const auto& l : steps) EXPECT_EQ(constrained.sample(l), plain.sample(l));
  EXPECT_TRUE(constrained.grammar_complete());
}

}  // namespace
}  // namespace mx
