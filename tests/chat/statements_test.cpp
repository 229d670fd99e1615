// Statements: if, for (loop variables, filters, else, break/continue), set, namespace, macro, call, filter, generation, with.
// Every expected string below is what the reference renderer (Jinja2 configured as
// transformers configures it) produces for the same template.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace mx::chat::test {
namespace {

TEST(ChatStatements, IfElifElse) {
  expect_renders({
      {"{% if 1 %}a{% elif 2 %}b{% else %}c{% endif %}{% if 0 %}a{% elif 2 %}b{% else %}c{% endif %}{% if 0 %}a{% elif 0 %}b{% else %}c{% endif %}",
       "abc"},
      {"{% if [] %}list{% elif {} %}dict{% elif '' %}str{% elif 0.0 %}float{% elif none %}none{% else %}all falsy{% endif %}",
       "all falsy"},
      {"{% if true %}\n  yes\n{% else %}\n  no\n{% endif %}\n",
       "  yes\n"},
  });
}

TEST(ChatStatements, ForLoopVariables) {
  expect_renders({
      {"{% for i in [3, 4, 5] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
       "1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;"},
      {"{% for i in 'abc' %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.cycle('odd', 'even') }};{% endfor %}",
       "-b-odd;a-c-even;b--odd;"},
      {"{% for i in [1] %}{{ loop.previtem is defined }}{{ loop.nextitem is undefined }}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}",
       "FalseTrue10"},
      {"{% for i in range(3) %}{{ loop.changed(i // 2) }}{% endfor %}",
       "TrueFalseTrue"},
      {"{% for i in [1, 2] %}{% for j in 'ab' %}{{ loop.index }}{{ i }}{{ j }} {% endfor %}{{ loop.index }}|{% endfor %}",
       "11a 21b 1|12a 22b 2|"},
  });
}

TEST(ChatStatements, ForLoopFilterElseAndUnpacking) {
  expect_renders({
      {"{% for i in range(10) if i is odd %}{{ i }}:{{ loop.index }}/{{ loop.length }},{% endfor %}",
       "1:1/5,3:2/5,5:3/5,7:4/5,9:5/5,"},
      {"{% for x in [1] if x > 5 %}a{% else %}filtered all{% endfor %}",
       "filtered all"},
      {"{% for i in [] %}x{% else %}empty{% endfor %}",
       "empty"},
      {"{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}",
       "37"},
      {"{% for k, v in {'x': 1, 'y': 2}.items() %}{{ k }}={{ v }};{% endfor %}",
       "x=1;y=2;"},
      {"{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}",
       "xy"},
      {"{% for c in 'héllo' %}[{{ c }}]{% endfor %}",
       "[h][é][l][l][o]"},
      {"{% for i in undefined_thing %}x{% else %}undefined iterates as empty{% endfor %}",
       "undefined iterates as empty"},
  });
}

TEST(ChatStatements, BreakAndContinue) {
  expect_renders({
      {"{% for i in range(10) %}{% if i > 3 %}{% break %}{% endif %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}",
       "023"},
      {"{% for i in [1, 2] %}{% for j in [1, 2, 3] %}{% if j == 2 %}{% break %}{% endif %}{{ i }}{{ j }} {% endfor %}{% endfor %}",
       "11 21 "},
  });
}

TEST(ChatStatements, SetAndScoping) {
  expect_renders({
      {"{% set a, b = 1, 2 %}{{ a }}{{ b }}",
       "12"},
      {"{% set a, b = 'xy' %}{{ b }}{{ a }}",
       "yx"},
      {"{% if true %}{% set z = 3 %}{% endif %}{{ z }}",
       "3"},
      {"{% for i in [1] %}{% set inner = 5 %}{% endfor %}[{{ inner }}]",
       "[]"},
      {"{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}",
       "231"},
      {"{% for i in [1, 2, 3] %}[{{ x }}]{% set x = i %}{% endfor %}",
       "[][][]"},
      {"{% set x = 'outer' %}{% for i in [1] %}{{ x }}{% set x = 'loop' %}{{ x }}{% endfor %}{{ x }}",
       "outerloopouter"},
      {"{% filter trim %}{% set q = 1 %}  x  {% endfilter %}[{{ q }}]",
       "x[]"},
  });
}

TEST(ChatStatements, SetBlocks) {
  expect_renders({
      {"{% set x %}block {{ 1 + 1 }}{% endset %}[{{ x }}]",
       "[block 2]"},
      {"{% set x | upper %}block{% endset %}{{ x }}",
       "BLOCK"},
      {"{% set x | trim | replace('a', 'b') %}  aaa  {% endset %}[{{ x }}]",
       "[bbb]"},
  });
}

TEST(ChatStatements, Namespaces) {
  expect_renders({
      {"{% set ns = namespace(count=0, items=[]) %}{% for i in range(3) %}{% set ns.count = ns.count + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.count }}{{ ns.items }}[{{ ns.missing }}]",
       "3[0, 1, 2][]"},
      {"{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }} {{ ns }}",
       "12 <Namespace {'a': 1, 'b': 2}>"},
      {"{% set ns = namespace() %}{% set ns.a = 1 %}{{ ns['a'] }}{{ ns.a is defined }}",
       "1True"},
      {"{% set ns = namespace(v=[]) %}{% macro add(i) %}{% set ns.v = ns.v + [i] %}{% endmacro %}{{ add(1) }}{{ add(2) }}{{ ns.v }}",
       "[1, 2]"},
  });
}

TEST(ChatStatements, Macros) {
  expect_renders({
      {"{% macro m(a, b='B', c=none) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, 2) }}|{{ m(1, c=3) }}|{{ m(a=4) }}|{{ m() }}",
       "1BNone|12None|1B3|4BNone|BNone"},
      {"{% macro m(a, b=a ~ '!') %}{{ b }}{% endmacro %}{{ m('x') }}",
       "x!"},
      {"{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, k=3) }}",
       "(1, 2){'k': 3}"},
      {"{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}",
       "120"},
      {"{% macro m() %}{{ g }}{% endmacro %}{% set g = 'late binding' %}{{ m() }}",
       "late binding"},
      {"{% macro m() %}[{{ i }}]{% endmacro %}{% for i in [1] %}{{ m() }}{% endfor %}",
       "[]"},
      {"{% for i in [7] %}{% macro m() %}[{{ i }}]{% endmacro %}{{ m() }}{% endfor %}",
       "[7]"},
      {"{% set x = 'outer' %}{% macro m() %}{{ x }}{% set x = 'inner' %}{{ x }}{% endmacro %}{{ m() }}{{ x }}",
       "outerinnerouter"},
      {"{% macro outer() %}{% macro inner() %}in{% endmacro %}{{ inner() }}!{% endmacro %}{{ outer() }}",
       "in!"},
      {"{% macro m() %}{% endmacro %}{{ m }}",
       "<Macro 'm'>"},
  });
}

TEST(ChatStatements, CallFilterGenerationWithPrint) {
  expect_renders({
      {"{% macro m(x) %}{{ caller(x) }}{% endmacro %}{% call(v) m(5) %}got {{ v }}{% endcall %}",
       "got 5"},
      {"{% macro m() %}[{{ caller() }}]{% endmacro %}{% call m() %}body{% endcall %}",
       "[body]"},
      {"{% filter upper %}hello {{ 'x' }}{% endfilter %}",
       "HELLO X"},
      {"{% filter replace('a', 'o') | upper %}banana{% endfilter %}",
       "BONONO"},
      {"{% generation %}gen {{ 1 }}{% endgeneration %}",
       "gen 1"},
      {"{% for i in [1, 2] %}{% generation %}{{ i }}{% endgeneration %}{% endfor %}",
       "12"},
      {"{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]",
       "3[]"},
      {"{% print 1 + 1, 'x' %}",
       "2x"},
  });
}

TEST(ChatStatements, ChatMessages) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"messages": [{"role": "system", "content": "  S  "}, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})JSON");
  expect_renders({
      {"{{ messages[0].content }}|{{ messages[-1]['role'] }}|{{ messages|length }}|{{ messages[1:]|map(attribute='role')|join(',') }}",
       "  S  |assistant|3|user,assistant"},
      {"{% for m in messages %}{{ m.role|upper }}:{{ m.content|trim }}{% if not loop.last %}\n{% endif %}{% endfor %}",
       "SYSTEM:SUSER:hiASSISTANT:yo"},
      {"{{ messages[0].content is string }} {{ messages[5] is defined }} {{ messages[0].nope is defined }}",
       "True False False"},
      {"{{ messages|selectattr('role', 'equalto', 'user')|list|length }} {{ messages[0].items()|list }}",
       "1 [('role', 'system'), ('content', '  S  ')]"},
  }, context);
}

}  // namespace
}  // namespace mx::chat::test
