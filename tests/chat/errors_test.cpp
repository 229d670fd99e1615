// Errors are values with a message a user can act on: syntax errors and runtime errors name
// line:column; raise_exception's message comes through unchanged; features the reference
// rejects are rejected; nothing the reference refuses renders here.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace mx::chat::test {
namespace {

void expect_error(std::string_view source, std::string_view message) {
  const std::string got = render_error(source);
  EXPECT_NE(got.find(message), std::string::npos) << "template: " << source << "\nerror: " << got;
}

TEST(ChatErrors, SyntaxErrorsNameLineAndColumn) {
  expect_error("{% if %}", "template:1:7: syntax error: expected an expression");
  expect_error("line1\n{% for x in %}{% endfor %}", "template:2:13: syntax error");
  expect_error("{% if true %}", "template:1:14: syntax error: unexpected end of template, expected 'elif' or 'else' or 'endif'");
  expect_error("{{ 1 + }}", "template:1:8: syntax error: unexpected 'end of print statement'");
  expect_error("{{ 'unterminated }}", "template:1:4: syntax error: unexpected char '''");
  expect_error("{# open", "template:1:1: syntax error: missing end of comment tag");
  expect_error("{% raw %}never closed", "syntax error: missing end of raw directive");
  expect_error("{{ (1 }}", "template:1:7: syntax error: unexpected '}', expected ')'");
  expect_error("{{ 1 ) }}", "template:1:6: syntax error: unexpected ')'");
  expect_error("{% endfor %}", "template:1:4: syntax error: encountered unknown tag 'endfor'");
  expect_error("{% for x in [1] %}{% endif %}", "template:1:22: syntax error: encountered unknown tag 'endif'");
  expect_error("{% macro m(a=1, b) %}{% endmacro %}", "non-default argument follows default argument");
  expect_error("{% set 1 = 2 %}", "can't assign");
  expect_error("{{ f(a=1, 2) }}", "invalid syntax for function call expression");
  expect_error("{% break %}", "'break' outside of a loop");
  expect_error("{% for loop in [1] %}{% endfor %}", "can't assign to special loop variable");
  expect_error("{% for i in [1] %}{% set loop = 5 %}{% endfor %}", "can't assign to special loop variable");
  EXPECT_EQ(render("{% set loop = 1 %}{{ loop }}"), "1");  // outside a loop it is an ordinary name
  expect_error("{% macro m(a, a) %}{% endmacro %}", "duplicate argument 'a'");
  expect_error("{% macro m(caller) %}{% endmacro %}", "'caller' argument must be omitted or be given a default");
  expect_error("{{ 99999999999999999999 }}", "integer literal does not fit in 64 bits");
  expect_error(std::string_view("\xff\xfe", 2), "not valid UTF-8");
}

TEST(ChatErrors, UnknownFiltersAndTests) {
  // Jinja rejects an unknown filter when it compiles the template...
  expect_error("ab\n  {{ foo | nosuchfilter }}", "template:2:12: no filter named 'nosuchfilter'");
  expect_error("{{ x is nosuchtest }}", "no test named 'nosuchtest'");
  expect_error("{% for x in [1] %}{% if true %}{{ x|nope }}{% endif %}{% endfor %}", "no filter named 'nope'");
  // ...except directly inside an `if` or an inline if-expression, where only running it fails.
  EXPECT_EQ(render("{% if false %}{{ foo | nosuchfilter }}{% endif %}ok"), "ok");
  EXPECT_EQ(render("{{ (x | nosuchfilter) if false else 'ok' }}"), "ok");
  expect_error("{% if true %}{{ {}|from_json }}{% endif %}", "template:1:20: no filter named 'from_json'");
}

TEST(ChatErrors, RuntimeErrorsNameTheFailingExpression) {
  expect_error("a\n{{ x.y.z }}", "template:2:5: 'x' is undefined");
  expect_error("{{ {'a': 1}.b.c }}", "'dict object' has no attribute 'b'");
  expect_error("{{ x + 1 }}", "'x' is undefined");
  expect_error("{{ x() }}", "'x' is undefined");
  expect_error("{{ x < 1 }}", "'x' is undefined");
  expect_error("{{ x|tojson }}", "Object of type Undefined is not JSON serializable");
  expect_error("{{ x|int }}", "'x' is undefined");
  expect_error("{% for i in range(3) %}{{ 1 / (1 - i) }}{% endfor %}", "template:1:27: division by zero");
  expect_error("\n\n   {{ 1 +\n  'a' }}", "template:3:7: unsupported operand type(s) for +: 'int' and 'str'");
  expect_error("{{ 'a' + 1 }}", "can only concatenate str (not \"int\") to str");
  expect_error("{{ [1] + (2,) }}", "can only concatenate list (not \"tuple\") to list");
  expect_error("{{ 1 < 'a' }}", "'<' not supported between instances of 'int' and 'str'");
  expect_error("{{ -'a' }}", "bad operand type for unary -: 'str'");
  expect_error("{{ 1 in none }}", "argument of type 'NoneType' is not iterable");
  expect_error("{% for i in none %}{% endfor %}", "'NoneType' object is not iterable");
  expect_error("{% for a, b in [[1, 2, 3]] %}{% endfor %}", "too many values to unpack (expected 2)");
  expect_error("{% set x = 1 %}{% set x.y = 2 %}", "cannot assign attribute on non-namespace object");
  expect_error("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", "macro 'm' takes not more than 1 argument(s)");
  expect_error("{% macro m(a) %}{% endmacro %}{{ m(b=2) }}", "macro 'm' takes no keyword argument 'b'");
  expect_error("{% macro m() %}x{% endmacro %}{% call m() %}body{% endcall %}", "two values for the special caller argument");
  expect_error("{{ '%d' % 'x' }}", "%d format: a real number is required, not str");
  expect_error("{{ 2 ** 64 }}", "does not fit in 64 bits");
  // Slices are Python's own obj[a:b], not the sandbox's forgiving lookup.
  expect_error("{% set d = {'a': 1} %}{{ d[1:] }}", "unhashable type: 'slice'");
  expect_error("{% set n = 5 %}{{ n[1:] }}", "'int' object is not subscriptable");
  expect_error("{% set l = [1] %}{{ l['a':] }}", "slice indices must be integers or None");
  expect_error("{{ [1, 2][::0] }}", "slice step cannot be zero");
  expect_error("{{ x[1:] }}", "'x' is undefined");
  expect_error("{{ '%s %s' % (1,) }}", "not enough arguments for format string");
  expect_error("{{ '%s' % (1, 2) }}", "not all arguments converted during string formatting");
}

TEST(ChatErrors, GeneratorsBehaveLikeTheReferences) {
  // map/select return generators in Jinja: no len(), not JSON, printed as an address.
  expect_error("{{ [1, 2]|map('string')|length }}", "object of type 'generator' has no len()");
  expect_error("{{ [{'f': 1}]|map(attribute='f')|tojson }}", "Object of type generator is not JSON serializable");
  expect_error("{{ [1, 2]|map('string') }}", "cannot print a generator");
  expect_error("{{ [1, 2]|reverse|last }}", "'list_reverseiterator' object is not reversible");
}

TEST(ChatErrors, SandboxRules) {
  // ImmutableSandboxedEnvironment: no mutation of lists and dicts, no private attributes.
  expect_error("{% set l = [] %}{% set _ = l.append(1) %}",
               "access to attribute 'append' of 'list' object is unsafe.");
  expect_error("{{ {'a': 1}.pop('a') }}", "access to attribute 'pop' of 'dict' object is unsafe.");
  expect_error("{{ {'a': 1}.update({}) }}", "access to attribute 'update' of 'dict' object is unsafe.");
  expect_error("{{ ''.__class__() }}", "access to attribute '__class__' of 'str' object is unsafe.");
  EXPECT_EQ(render("[{{ [].append }}]"), "[]");  // only using it fails
  expect_error("{{ range(200000)|length }}", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
}

TEST(ChatErrors, RaiseExceptionMessageIsVerbatim) {
  EXPECT_EQ(render_error("{{ raise_exception('System role not supported') }}"), "System role not supported");
  EXPECT_EQ(render_error("{% if true %}\n  {{- raise_exception('custom: ' ~ 42) }}{% endif %}"), "custom: 42");
  EXPECT_EQ(render_error("{% macro m() %}{{ raise_exception('from a macro') }}{% endmacro %}{{ m()|trim }}"),
            "from a macro");
}

TEST(ChatErrors, UnsupportedFeaturesSaySo) {
  expect_error("{% include 'x' %}", "the 'include' tag is not supported");
  expect_error("{% extends 'x' %}", "the 'extends' tag is not supported");
  expect_error("{% import 'x' as y %}", "the 'import' tag is not supported");
  expect_error("{% for i in [1] recursive %}{% endfor %}", "recursive loops are not supported");
  expect_error("{{ 'a'|xmlattr }}", "the filter 'xmlattr' is not supported");
  expect_error("{{ cycler(1, 2) }}", "the global function 'cycler' is not supported");
  expect_error("{{ '\\N{DASH}' }}", "named Unicode escapes");
}

TEST(ChatErrors, ContextMustBeAnObject) {
  auto t = ChatTemplate::parse("x");
  ASSERT_TRUE(t.ok());
  auto r = t->render(nlohmann::json::array());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("must be a JSON object"), std::string::npos);
  auto bad = t->render(nlohmann::json{{"s", std::string("\xff")}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not valid UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace mx::chat::test
