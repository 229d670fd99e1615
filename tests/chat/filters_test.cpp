// Filters, including tojson as transformers defines it (json.dumps with ensure_ascii=False).
// Every expected string below is what the reference renderer (Jinja2 configured as
// transformers configures it) produces for the same template.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace mx::chat::test {
namespace {

TEST(ChatFilters, Strings) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"users": [{"name": "b", "age": 30, "tags": ["x"]}, {"name": "A", "age": 25}, {"name": "c", "age": 35, "extra": null}], "d": {"b": 2, "a": 1, "C": 3}, "s": "  Hello World  ", "n": -3.7, "nested": {"k": [1, {"z": "é\n\"q\"", "a": null}], "f": 1.0, "t": true, "big": 12345678901234}})JSON");
  expect_renders({
      {"{{ s|trim }}|{{ s|upper }}|{{ s|lower }}|{{ s|title }}|{{ 'hello wORLD'|capitalize }}|{{ s|length }}|{{ s|wordcount }}",
       "Hello World|  HELLO WORLD  |  hello world  |  Hello World  |Hello world|15|2"},
      {"{{ 'xxhixx'|trim('x') }}|{{ 'a-b (c[d<e'|title }}|{{ \"it's o'neil\"|title }}|{{ 'ÉCOLE ß'|lower }}|{{ 'straße'|upper }}",
       "hi|A-B (C[D<E|It's O'neil|école ß|STRASSE"},
      {"{{ 'a b c'|replace(' ', '-') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 1.5|replace('.', ',') }}",
       "a-b-c bba 1,5"},
      {"{{ 'line1\\nline2\\n\\nline4'|indent }}|{{ 'a\\nb'|indent(2, first=true) }}|{{ 'a\\n\\nb'|indent('> ', blank=true) }}",
       "line1\n    line2\n\n    line4|  a\n  b|a\n> \n> b"},
      {"{{ 'abc'|center(9) }}|{{ 'abc'|center(8) }}|{{ 'hello world foo'|truncate(9) }}|{{ 'hello world'|truncate(5, true, '..', 0) }}",
       "   abc   |  abc   |hello...|hel.."},
      {"{{ '%s-%s'|format('a', 1) }} {{ '%(x)s'|format(x=2) }} {{ 42|string ~ '!' }} {{ [1]|string }}",
       "a-1 2 42! [1]"},
  }, context);
}

TEST(ChatFilters, DefaultAndConversions) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"users": [{"name": "b", "age": 30, "tags": ["x"]}, {"name": "A", "age": 25}, {"name": "c", "age": 35, "extra": null}], "d": {"b": 2, "a": 1, "C": 3}, "s": "  Hello World  ", "n": -3.7, "nested": {"k": [1, {"z": "é\n\"q\"", "a": null}], "f": 1.0, "t": true, "big": 12345678901234}})JSON");
  expect_renders({
      {"{{ none|default('d') }} [{{ ''|default('e') }}] {{ ''|default('e', true) }} {{ 0|d('z', boolean=true) }} {{ missing|d }}",
       "None [] e z "},
      {"{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ '0x1A'|int(0, 16) }} {{ ' 1_000 '|int }} {{ 3.9|int }} {{ true|int }} {{ none|int }}",
       "42 4 0 7 26 1000 3 1 0"},
      {"{{ '4.5'|float }} {{ 'x'|float }} {{ 3|float }} {{ '1e3'|float }} {{ n|abs }} {{ n|round }} {{ n|round(1, 'floor') }} {{ 2.5|round }} {{ 3.5|round }} {{ 3.14159|round(2) }} {{ 7|round }}",
       "4.5 0.0 3.0 1000.0 3.7 -4.0 -3.7 2.0 4.0 3.14 7"},
  }, context);
}

TEST(ChatFilters, Sequences) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"users": [{"name": "b", "age": 30, "tags": ["x"]}, {"name": "A", "age": 25}, {"name": "c", "age": 35, "extra": null}], "d": {"b": 2, "a": 1, "C": 3}, "s": "  Hello World  ", "n": -3.7, "nested": {"k": [1, {"z": "é\n\"q\"", "a": null}], "f": 1.0, "t": true, "big": 12345678901234}})JSON");
  expect_renders({
      {"{{ [3, 1, 2]|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }}",
       "[1, 2, 3] [3, 2, 1] ['A', 'b', 'c'] ['A', 'b', 'c']"},
      {"{{ users|sort(attribute='age')|map(attribute='name')|join(',') }} {{ users|sort(attribute='name', reverse=true)|map(attribute='name')|list }}",
       "A,b,c ['c', 'b', 'A']"},
      {"{{ d|dictsort }} {{ d|dictsort(true) }} {{ d|dictsort(by='value', reverse=true) }}",
       "[('a', 1), ('b', 2), ('C', 3)] [('C', 3), ('a', 1), ('b', 2)] [('C', 3), ('b', 2), ('a', 1)]"},
      {"{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ []|first is undefined }} {{ 'abc'|first }} {{ 'abc'|last }}",
       "1 3 True a c"},
      {"{{ [1, 2, 3]|join }} {{ [1, none, 'x']|join('-') }} {{ users|join(', ', attribute='name') }}",
       "123 1-None-x b, A, c"},
      {"{{ [1, 2, 3]|reverse|list }} {{ 'abc'|reverse }} {{ [1, 2, 3]|sum }} {{ users|sum(attribute='age') }} {{ [[1], [2]]|sum(start=[]) }}",
       "[3, 2, 1] cba 6 90 [1, 2]"},
      {"{{ [1, 2, 2, 3, 1]|unique|list }} {{ ['a', 'A', 'b']|unique|list }} {{ users|map(attribute='age')|min }} {{ users|max(attribute='age') }} {{ []|min is undefined }}",
       "[1, 2, 3] ['a', 'b'] 25 {'name': 'c', 'age': 35, 'extra': None} True"},
      {"{{ d|items|list }} {{ d|list }} {{ 'ab'|list }} {{ d|length }} {{ d|count }}",
       "[('b', 2), ('a', 1), ('C', 3)] ['b', 'a', 'C'] ['a', 'b'] 3 3"},
      {"{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3, 4, 5]|batch(2, 0)|list }} {{ [1, 2, 3, 4, 5]|slice(2)|list }}",
       "[[1, 2], [3, 4], [5]] [[1, 2], [3, 4], [5, 0]] [[1, 2, 3], [4, 5]]"},
      {"{{ users|groupby('age')|map(attribute=0)|list }} {% for g, items in [{'t': 'x', 'v': 1}, {'t': 'y', 'v': 2}, {'t': 'x', 'v': 3}]|groupby('t') %}{{ g }}:{{ items|map(attribute='v')|list }};{% endfor %}",
       "[25, 30, 35] x:[1, 3];y:[2];"},
  }, context);
}

TEST(ChatFilters, SelectRejectMap) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"users": [{"name": "b", "age": 30, "tags": ["x"]}, {"name": "A", "age": 25}, {"name": "c", "age": 35, "extra": null}], "d": {"b": 2, "a": 1, "C": 3}, "s": "  Hello World  ", "n": -3.7, "nested": {"k": [1, {"z": "é\n\"q\"", "a": null}], "f": 1.0, "t": true, "big": 12345678901234}})JSON");
  expect_renders({
      {"{{ users|selectattr('age', 'gt', 26)|map(attribute='name')|list }} {{ users|rejectattr('extra', 'defined')|map(attribute='name')|list }}",
       "['b', 'c'] ['b', 'A']"},
      {"{{ users|selectattr('tags')|list|length }} {{ [0, 1, 2, '', none]|select|list }} {{ [1, 2, 3, 4]|reject('odd')|list }} {{ [1, 2, 3]|select('equalto', 2)|list }}",
       "1 [1, 2] [2, 4] [2]"},
      {"{{ users|map(attribute='missing', default='?')|list }} {{ ['a', 'b']|map('upper')|list }} {{ [1.5, 2.5]|map('round')|list }} {{ ['x']|map('replace', 'x', 'y')|list }}",
       "['?', '?', '?'] ['A', 'B'] [2.0, 2.0] ['y']"},
      {"{{ users|map(attribute='name')|first }} {{ none|selectattr('a')|list }} {{ none|map('upper')|list }}",
       "b [] []"},
      {"{% set g = [1, 2, 3]|select %}{{ g|list }}{{ g|list }}",
       "[1, 2, 3][]"},
      {"{% set g = [1, 2, 3]|select %}{{ 1 in g }}{{ 1 in g }}{{ 3 in g }}",
       "TrueFalseFalse"},
  }, context);
}

TEST(ChatFilters, ToJson) {
  const auto context = nlohmann::ordered_json::parse(R"JSON({"users": [{"name": "b", "age": 30, "tags": ["x"]}, {"name": "A", "age": 25}, {"name": "c", "age": 35, "extra": null}], "d": {"b": 2, "a": 1, "C": 3}, "s": "  Hello World  ", "n": -3.7, "nested": {"k": [1, {"z": "é\n\"q\"", "a": null}], "f": 1.0, "t": true, "big": 12345678901234}})JSON");
  expect_renders({
      {"{{ nested|tojson }}",
       "{\"k\": [1, {\"z\": \"é\\n\\\"q\\\"\", \"a\": null}], \"f\": 1.0, \"t\": true, \"big\": 12345678901234}"},
      {"{{ nested|tojson(indent=2) }}",
       "{\n  \"k\": [\n    1,\n    {\n      \"z\": \"é\\n\\\"q\\\"\",\n      \"a\": null\n    }\n  ],\n  \"f\": 1.0,\n  \"t\": true,\n  \"big\": 12345678901234\n}"},
      {"{{ nested|tojson(indent=0) }}",
       "{\n\"k\": [\n1,\n{\n\"z\": \"é\\n\\\"q\\\"\",\n\"a\": null\n}\n],\n\"f\": 1.0,\n\"t\": true,\n\"big\": 12345678901234\n}"},
      {"{{ nested|tojson(indent='\\t') }}",
       "{\n\t\"k\": [\n\t\t1,\n\t\t{\n\t\t\t\"z\": \"é\\n\\\"q\\\"\",\n\t\t\t\"a\": null\n\t\t}\n\t],\n\t\"f\": 1.0,\n\t\"t\": true,\n\t\"big\": 12345678901234\n}"},
      {"{{ {'b': 1, 'a': [1, 2]}|tojson(sort_keys=true) }} {{ {'a': 1, 'b': [2]}|tojson(separators=(',', ':')) }}",
       "{\"a\": [1, 2], \"b\": 1} {\"a\":1,\"b\":[2]}"},
      {"{{ 'é✓😀\\u007f\\x01\\x1f'|tojson }} {{ 'é😀\\u007f'|tojson(ensure_ascii=true) }} {{ 'a\\tb\\n\\r\\b\\f\\\\/\"'|tojson }}",
       "\"é✓😀\177\\u0001\\u001f\" \"\\u00e9\\ud83d\\ude00\\u007f\" \"a\\tb\\n\\r\\b\\f\\\\/\\\"\""},
      {"{{ []|tojson(indent=2) }} {{ {}|tojson(indent=2) }} {{ [1.0, 1e20, 1.5e-7, -0.0, 1e400]|tojson }} {{ {1: 'a', none: 'b', true: 'c', 2.5: 'd'}|tojson }}",
       "[] {} [1.0, 1e+20, 1.5e-07, -0.0, Infinity] {\"1\": \"c\", \"null\": \"b\", \"2.5\": \"d\"}"},
      {"{{ (1, 2)|tojson }} {{ 'x'|safe|tojson }} {{ d|tojson }} {{ users[0]|tojson(indent=1) }}",
       "[1, 2] \"x\" {\"b\": 2, \"a\": 1, \"C\": 3} {\n \"name\": \"b\",\n \"age\": 30,\n \"tags\": [\n  \"x\"\n ]\n}"},
  }, context);
}

}  // namespace
}  // namespace mx::chat::test
