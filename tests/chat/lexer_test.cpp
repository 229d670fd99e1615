// Lexer: text, tags, whitespace control, trim_blocks/lstrip_blocks, raw, literals.
// Every expected string below is what the reference renderer (Jinja2 configured as
// transformers configures it) produces for the same template.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace mx::chat::test {
namespace {

TEST(ChatLexer, TrimBlocksDropsTheNewlineAfterABlockTag) {
  expect_renders({
      {"{% if true %}\nx\n{% endif %}\ny",
       "x\ny"},
      {"{% set a = 1 %}\n{{ a }}\n",
       "1"},
      {"{# comment #}\nafter",
       "after"},
      {"{{ 1 }}\n{{ 2 }}",
       "1\n2"},
  });
}

TEST(ChatLexer, LstripBlocksDropsIndentationBeforeBlockTags) {
  expect_renders({
      {"a\n  {% if true %}\n    x\n  {% endif %}\nb",
       "a\n    x\nb"},
      {"  {# comment #}\nx",
       "x"},
      {"  {{ 'variables keep it' }}",
       "  variables keep it"},
      {"x  {% if true %}y{% endif %}",
       "x  y"},
      {"\t {% if true %}t{% endif %}",
       "t"},
      {"  {%+ if true %}kept{% endif %}",
       "  kept"},
  });
}

TEST(ChatLexer, MinusStripsAllWhitespaceOnItsSide) {
  expect_renders({
      {"a  {%- if true -%}  x  {%- endif -%}  b",
       "axb"},
      {"a\n\n  {{- 1 -}}\n\n  b",
       "a1b"},
      {"a {#- c -#} b",
       "ab"},
      {"{%- set a = 1 -%}\n{{- a -}}\n{#- c -#}\n{{ a }}",
       "11"},
      {"{%- for i in [1, 2] -%}\n  {{ i }}\n{%- endfor -%}\n",
       "12"},
  });
}

TEST(ChatLexer, PlusKeepsWhitespace) {
  expect_renders({
      {"  {%+ if true %}x{% endif +%}\ny",
       "  x\ny"},
      {"{% if true +%}\nkept newline{% endif %}",
       "\nkept newline"},
  });
}

TEST(ChatLexer, RawBlocks) {
  expect_renders({
      {"{% raw %}{{ not parsed }} {% if %}{% endraw %}",
       "{{ not parsed }} {% if %}"},
      {"  {% raw %}\n  {{ x }}\n  {% endraw %}\nz",
       "\n  {{ x }}\nz"},
      {"x {%- raw -%}  y  {%- endraw -%} z",
       "xyz"},
  });
}

TEST(ChatLexer, NewlinesAreNormalisedAndOneTrailingNewlineDropped) {
  expect_renders({
      {"line1\r\nline2\rline3\n",
       "line1\nline2\nline3"},
      {"trailing\n\n",
       "trailing\n"},
      {"{% if true %}\r\nz{% endif %}\r\n",
       "z"},
  });
}

TEST(ChatLexer, StringLiterals) {
  expect_renders({
      {"{{ 'a\\nb\\tc\\\\d\\x41\\u00e9\\U0001F600' }}",
       "a\nb\tc\\dAé😀"},
      {"{{ \"it's\" ~ 'say \"hi\"' ~ '\\'' }}",
       "it'ssay \"hi\"'"},
      {"{{ 'abc' 'def' \"ghi\" }}",
       "abcdefghi"},
      {"{{ 'unknown \\q escape' }}",
       "unknown \\q escape"},
      {"{{ '\\101\\60' }}",
       "A0"},
      {"{{ 'multi\nline' }}",
       "multi\nline"},
  });
}

TEST(ChatLexer, NumberLiterals) {
  expect_renders({
      {"{{ 1_000 + 0x1F + 0o17 + 0b101 }}",
       "1051"},
      {"{{ 1.5e3 }} {{ 2.5 }} {{ 1e100 }} {{ 1E-7 }} {{ 0.1 }} {{ 1_0.5 }}",
       "1500.0 2.5 1e+100 1e-07 0.1 10.5"},
      {"{{ [[1, 2]].0.1 }}",
       "2"},
  });
}

TEST(ChatLexer, BracesInsideTagsAreBalanced) {
  expect_renders({
      {"{{ {'a': {'b': 1}} }}",
       "{'a': {'b': 1}}"},
      {"{{ {'a': {'b': {'c': 1}}}['a']['b'] }}",
       "{'c': 1}"},
      {"{{ '}}' ~ '%}' }}",
       "}}%}"},
  });
}

}  // namespace
}  // namespace mx::chat::test
