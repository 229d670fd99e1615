// Expressions: literals, operators, precedence, slicing, undefined, Python str() printing, Markup.
// Every expected string below is what the reference renderer (Jinja2 configured as
// transformers configures it) produces for the same template.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace mx::chat::test {
namespace {

TEST(ChatExpressions, Literals) {
  expect_renders({
      {"{{ [1, 'a', none, true, 1.5, [2], {'k': 'v'}] }}",
       "[1, 'a', None, True, 1.5, [2], {'k': 'v'}]"},
      {"{{ (1, 2) }} {{ (1,) }} {{ () }} {{ [1, 2, 3,][1] }} {{ {'a': 1,}['a'] }}",
       "(1, 2) (1,) () 2 1"},
      {"{{ {'a': 1, 'b': {'c': [1, 2]}} }} {{ {'a': 1, 'a': 2} }}",
       "{'a': 1, 'b': {'c': [1, 2]}} {'a': 2}"},
      {"{{ True }} {{ False }} {{ None }} {{ true }} {{ none }}",
       "True False None True None"},
  });
}

TEST(ChatExpressions, Arithmetic) {
  expect_renders({
      {"{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** -2 }} {{ 2.0 ** 0.5 }}",
       "3.5 3 -4 1 2 1.5 1024 0.25 1.4142135623730951"},
      {"{{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ true + true }} {{ 10 / 5 }} {{ 1e3 // 7 }}",
       "3 9 4 64 2 2.0 142.0"},
      {"{{ 'ab' * 3 }} {{ [1] * 3 }} {{ 3 * 'x' }} {{ 'x' * -1 }} {{ [1] + [2] }} {{ (1,) + (2,) }} {{ 'a' + 'b' }}",
       "ababab [1, 1, 1] xxx  [1, 2] (1, 2) ab"},
      {"{{ 'no specifiers' % [1] }} {{ 'a' % x }} [{{ '%s' % x }}] {{ '%s' % [1, 2] }} {{ '%s' % (none,) }}",
       "no specifiers a [] [1, 2] None"},
      {"{{ '%s is %d years' % ('Bob', 30) }} {{ '%05.2f|%-5s|%5s|%x' % (3.14159, 'ab', 'cd', 255) }} {{ '%(a)s' % {'a': 1} }} {{ '%s' % [1] }}",
       "Bob is 30 years 03.14|ab   |   cd|ff 1 [1]"},
      {"{{ -3|abs }} {{ (-3)|abs }}",
       "3 3"},
  });
}

TEST(ChatExpressions, ConcatenationAndPrecedence) {
  expect_renders({
      {"{{ 1 ~ 2 ~ 'x' ~ none ~ true ~ [1] }}",
       "12xNoneTrue[1]"},
      {"{{ 'a' ~ 1 * 2 }} {{ 2 * 3 ~ 4 }} {{ 'x' + 1 ~ 2 }}",
       "a2 64 x12"},
      {"{{ 'abc'|upper|lower|length }} {{ [1, 2] | join(', ') | upper }}",
       "3 1, 2"},
  });
}

TEST(ChatExpressions, ComparisonsAndMembership) {
  expect_renders({
      {"{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ (1, 2) < (1, 3) }} {{ [] < [1] }} {{ 1 == 1.0 }} {{ 1 != 2 }}",
       "True False True True True True True True"},
      {"{{ 'a' in 'abc' }} {{ 'x' not in 'abc' }} {{ 1 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ [1] in [[1]] }}",
       "True True True True True True"},
      {"{{ {'a': 1} == {'a': 1} }} {{ [1, 2] == (1, 2) }} {{ none == none }} {{ true == 1 }}",
       "True False True True"},
  });
}

TEST(ChatExpressions, LogicAndConditionalExpressions) {
  expect_renders({
      {"{{ 1 and 2 }} {{ 0 or 'x' }} {{ none or [] }} {{ not 0 }} {{ not 'a' }} [{{ '' and 1 }}] {{ True and None }}",
       "2 x [] True False [] None"},
      {"{{ 'yes' if true else 'no' }} {{ 'yes' if false else 'no' }} [{{ 'x' if false }}] {{ 2 if false else 3 if true else 4 }}",
       "yes no [] 3"},
      {"{{ not true == false }} {{ not x is defined }}",
       "True True"},
  });
}

TEST(ChatExpressions, SubscriptsAndSlices) {
  expect_renders({
      {"{{ 'é'|length }} {{ '日本語'[1] }} {{ '日本語'[::-1] }} {{ 'hello'[1:4] }} {{ 'hello'[-3:] }} {{ 'hello'[::2] }} {{ 'hello'[-1] }}",
       "1 本 語本日 ell llo hlo o"},
      {"{{ [1, 2, 3, 4, 5][1:-1] }} {{ [1, 2, 3][::-1] }} {{ [1, 2, 3, 4, 5][-2:0:-1] }} {{ [1, 2, 3][5:] }} {{ (1, 2, 3)[1:] }}",
       "[2, 3, 4] [3, 2, 1] [4, 3, 2] [] (2, 3)"},
      {"{{ [[1, 2]].0.1 }}|{% set a = [1, 2] %}{{ a[0] }}[{{ a['0'] }}]",
       "2|1[]"},
      {"{{ {'items': 5}['items'] }} {{ {'a': 1}.a }}",
       "5 1"},
  });
}

TEST(ChatExpressions, UndefinedBehavesLikeJinjasDefaultUndefined) {
  expect_renders({
      {"[{{ x }}] {{ x is defined }} {{ x is undefined }} {{ x|default('d') }} {{ x|length }} {{ x|list }}",
       "[] False True d 0 []"},
      {"{{ {'a': 1}.b }}|{{ {'a': 1}['b'] }}|{{ [1][5] }}|{{ 'ab'[9] }}|{{ none.x }}|{{ none['x'] }}",
       "|||||"},
      {"{{ 'x' in x }} {{ x == x }} {{ x ~ 'a' }} {{ x is none }} {{ x is string }} {{ x is iterable }} {{ x is sequence }}",
       "False True a False False True True"},
      {"{{ x | upper }}|{{ x|trim }}|{{ x|string }}|{{ x|join(',') }}|{{ x|default(5) + 1 }}",
       "||||6"},
      {"{% if x %}y{% endif %}{% if not x %}n{% endif %}",
       "n"},
  });
}

TEST(ChatExpressions, PrintingUsesPythonStr) {
  expect_renders({
      {"{{ 'it\\'s' }} {{ ['it\\'s', \"q\\\"\", 'both\\'\"', '\\n\\t\\\\', '\\x00\\x7f\\x80\\xa0\\u200b\\u2028é✓'] }}",
       "it's [\"it's\", 'q\"', 'both\\'\"', '\\n\\t\\\\', '\\x00\\x7f\\x80\\xa0\\u200b\\u2028é✓']"},
      {"{{ [1e16, 1e15, 0.0001, 0.00001, 1.23e-10, 3.0, -2.5, 1/3, 2**62] }}",
       "[1e+16, 1000000000000000.0, 0.0001, 1e-05, 1.23e-10, 3.0, -2.5, 0.3333333333333333, 4611686018427387904]"},
      {"{{ 0.1 + 0.2 }} {{ 1/3 }} {{ 2/3 }} {{ 1e22 }} {{ 123456789.123456789 }} {{ 5e-324 }} {{ 1.7976931348623157e308 }} {{ 3 * 1.1 }} {{ 100.0 }} {{ -0.0 }}",
       "0.30000000000000004 0.3333333333333333 0.6666666666666666 1e+22 123456789.12345679 5e-324 1.7976931348623157e+308 3.3000000000000003 100.0 -0.0"},
      {"{{ 1e400 }} {{ -1e400 }}",
       "inf -inf"},
      {"{{ {'a': [1, {'b': none}], 'c': (true, 'x')} }}",
       "{'a': [1, {'b': None}], 'c': (True, 'x')}"},
      {"{{ dict(a=1, b=[2]) }} {{ dict([('x', 1)]) }} {{ dict({'y': 2}, z=3) }} {{ dict }} {{ namespace }}",
       "{'a': 1, 'b': [2]} {'x': 1} {'y': 2, 'z': 3} <class 'dict'> <class 'jinja2.utils.Namespace'>"},
      {"{% for i in [1, 2] %}{{ loop }}{% endfor %}",
       "<LoopContext 1/2><LoopContext 2/2>"},
      {"{{ {'a': 1}.items() }} {{ {'a': 1}.keys() }} {{ {'a': 1}.values() }}",
       "dict_items([('a', 1)]) dict_keys(['a']) dict_values([1])"},
  });
}

TEST(ChatExpressions, MarkupEscapesWhatItIsAddedTo) {
  expect_renders({
      {"{{ '<a href=\"x\">'|e }} {{ '<b>'|safe }} {{ ('<b>'|safe) + '<i>' }} {{ '<i>' + ('<b>'|safe) }} {{ ('<b>'|safe) ~ '<i>' }} {{ '<b>'|escape|escape }}",
       "&lt;a href=&#34;x&#34;&gt; <b> <b>&lt;i&gt; &lt;i&gt;<b> <b><i> &lt;b&gt;"},
      {"{{ 'x'|safe is escaped }} {{ 'x' is escaped }} {{ ('a'|safe + 'b') is escaped }} {{ ('a'|safe).upper() is escaped }}",
       "True False True True"},
      {"{{ \"Use '\"|safe + 'a&b' + \"'\"|safe + {'k': '\"v\"'}|tojson }}",
       "Use 'a&amp;b'{&#34;k&#34;: &#34;\\&#34;v\\&#34;&#34;}"},
  });
}

}  // namespace
}  // namespace mx::chat::test
