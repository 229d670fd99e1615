// Jinja tests (`is ...`), methods on str/dict/list, str.format and the global functions.
// Every expected string below is what the reference renderer (Jinja2 configured as
// transformers configures it) produces for the same template.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace mx::chat::test {
namespace {

TEST(ChatTests, TypeTests) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"d": {"b": 2, "a": 1}, "s": "  Hello World  "})JSON");
  expect_renders({
      {"{{ none is none }} {{ 1 is number }} {{ true is number }} {{ 1.0 is integer }} {{ 1 is integer }} {{ true is integer }} {{ 1.5 is float }}",
       "True True True False True False True"},
      {"{{ true is boolean }} {{ 1 is boolean }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 'a' is string }} {{ d is mapping }} {{ [] is mapping }}",
       "True False True False True True True False"},
      {"{{ [] is sequence }} {{ 'a' is sequence }} {{ d is sequence }} {{ 1 is sequence }} {{ [] is iterable }} {{ 'a' is iterable }} {{ 1 is iterable }} {{ x is iterable }}",
       "True True True False True True False True"},
      {"{{ range is callable }} {{ 'a' is callable }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'Ab' is lower }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 'zzz' is filter }}",
       "True False True True False True True False"},
      {"{{ x is defined }} {{ x is not defined }} {{ d is defined }} {{ d.zz is undefined }} {{ 1 is not none }}",
       "False True True True True"},
  }, context);
}

TEST(ChatTests, ValueTests) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"d": {"b": 2, "a": 1}, "s": "  Hello World  "})JSON");
  expect_renders({
      {"{{ 1 is odd }} {{ 2 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 3.0 is odd }}",
       "True True True False True"},
      {"{{ 1 is in [1, 2] }} {{ 'a' is eq 'a' }} {{ 2 is gt 1 }} {{ 2 is ge 3 }} {{ 1 is lt 2 }} {{ 1 is le 0 }} {{ 1 is ne 1 }} {{ 1 is equalto 1 }} {{ none is sameas none }}",
       "True True True False True False False True True"},
      {"{{ 'a' is lessthan 'b' }} {{ 2 is greaterthan 1 }} {{ [1, 2]|select('in', [2, 3])|list }}",
       "True True [2]"},
  }, context);
}

TEST(ChatMethods, StringMethods) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"d": {"b": 2, "a": 1}, "s": "  Hello World  "})JSON");
  expect_renders({
      {"{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n x \\n'.strip('\\n') }}",
       "Hello World|Hello World  |  Hello World|a| x "},
      {"{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ 'a b c'.split(maxsplit=1) }} {{ 'x</think>y'.split('</think>')[-1] }}",
       "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c'] ['a b', 'c'] ['a', 'b c'] y"},
      {"{{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x', 'lo')) }} {{ 'Hello'.startswith('l', 2) }} {{ 'Hello'.upper() }} {{ 'Hello'.lower() }} {{ 'hello world'.title() }}",
       "True True True HELLO hello Hello World"},
      {"{{ 'a-b'.replace('-', '+') }} {{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ 'héllo'.index('l') }}",
       "a+b 2 3 -1 2 2"},
      {"{{ ', '.join(['a', 'b']) }} {{ 'ab'.center(6, '*') }} {{ 'ab'.ljust(4, '.') }}|{{ 'ab'.rjust(4) }} {{ '5'.zfill(3) }} {{ '-5'.zfill(4) }} {{ 'abc'.partition('b') }} {{ 'x\\ny\\r\\nz'.splitlines() }}",
       "a, b **ab** ab..|  ab 005 -005 ('a', 'b', 'c') ['x', 'y', 'z']"},
      {"{{ 'hello'.capitalize() }} {{ 'Hello World'.swapcase() }} {{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ '  '.isspace() }} {{ 'prefix_x'.removeprefix('prefix_') }} {{ 'x.py'.removesuffix('.py') }}",
       "Hello hELLO wORLD True True True x x"},
  }, context);
}

TEST(ChatMethods, StrFormat) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"d": {"b": 2, "a": 1}, "s": "  Hello World  "})JSON");
  expect_renders({
      {"{{ '{} and {}'.format('a', 'b') }} {{ '{1}{0}'.format('a', 'b') }} {{ '{x}!'.format(x=1) }} {{ '<tok{}>'.format('') }}",
       "a and b ba 1! <tok>"},
      {"{{ '{:>5}|{:<4}|{:^7}|{:05d}|{:.2f}|{:,}|{!r}|{:x}|{:#b}|{:+d}|{:e}|{:%}'.format('a', 'b', 'c', 42, 3.14159, 1234567, 'q', 255, 5, 3, 12345.678, 0.25) }}",
       "    a|b   |   c   |00042|3.14|1,234,567|'q'|ff|0b101|+3|1.234568e+04|25.000000%"},
      {"{{ '{0[0]}-{0[1]}'.format(['p', 'q']) }} {{ '{d[a]}'.format(d={'a': 9}) }} {{ '{{}}{}'.format(1) }} {{ '{:*^9}'.format('mid') }}",
       "p-q 9 {}1 ***mid***"},
  }, context);
}

TEST(ChatMethods, DictAndListMethods) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"d": {"b": 2, "a": 1}, "s": "  Hello World  "})JSON");
  expect_renders({
      {"{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'def') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ d.copy() }}",
       "1 None def ['b', 'a'] [2, 1] [('b', 2), ('a', 1)] {'b': 2, 'a': 1}"},
      {"{{ [1, 2, 1].count(1) }} {{ [1, 2, 3].index(2) }} {{ (1, 2).count(2) }}",
       "2 1 1"},
  }, context);
}

TEST(ChatMethods, Globals) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"d": {"b": 2, "a": 1}, "s": "  Hello World  "})JSON");
  expect_renders({
      {"{{ range(5)|list }} {{ range(2, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }}",
       "[0, 1, 2, 3, 4] [2, 5, 8] [5, 3, 1] []"},
      {"{{ strftime_now('%Y-%m-%d %H:%M %A %B %d %b %y %j') }}",
       "2026-01-15 12:00 Thursday January 15 Jan 26 015"},
  }, context);
}

}  // namespace
}  // namespace mx::chat::test
