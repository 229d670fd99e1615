// JSON Schema -> GBNF: the grammar accepts documents the schema accepts and rejects the
// ones it does not; unsupported keywords and broken schemas are errors that say where.
#include <gtest/gtest.h>

#include <memory>

#include "sampling/gbnf.h"
#include "sampling/grammar_matcher.h"
#include "sampling/json_schema.h"

namespace mx {
namespace {

class SchemaGrammar {
 public:
  explicit SchemaGrammar(std::string_view schema) {
    auto gbnf = json_schema_to_gbnf(schema);
    EXPECT_TRUE(gbnf.ok()) << gbnf.error().message;
    if (!gbnf) return;
    text_ = *gbnf;
    auto g = parse_gbnf(*gbnf);
    EXPECT_TRUE(g.ok()) << g.error().message << "\n" << *gbnf;
    if (g) grammar_ = std::make_shared<const Grammar>(std::move(*g));
  }
  // The whole document is a sentence of the grammar (fed in 3-byte pieces).
  bool accepts(std::string_view doc) const {
    if (!grammar_) return false;
    GrammarMatcher m(grammar_);
    for (size_t i = 0; i < doc.size(); i += 3) {
      if (!m.can_accept(doc.substr(i, 3))) return false;
      m.accept(doc.substr(i, 3));
    }
    return m.is_complete();
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::shared_ptr<const Grammar> grammar_;
};

TEST(JsonSchema, ObjectsWithRequiredAndOptionalProperties) {
  const SchemaGrammar g(R"({"type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                   "email": {"type": "string"}, "admin": {"type": "boolean"}},
    "required": ["name", "age"]})");
  EXPECT_TRUE(g.accepts(R"({"name": "Al", "age": 3})")) << g.text();
  EXPECT_TRUE(g.accepts(R"({"name":"Al","age":-3,"admin":true})"));
  EXPECT_TRUE(g.accepts(R"({"name": "Al", "age": 3, "email": "a@b", "admin": false})"));
  EXPECT_TRUE(g.accepts("{\n  \"name\": \"\\u00e9\\n\",\n  \"age\": 0\n}"));
  EXPECT_FALSE(g.accepts(R"({"name": "Al"})"));                      // age is required
  EXPECT_FALSE(g.accepts(R"({"name": "Al", "age": 3.5})"));          // not an integer
  EXPECT_FALSE(g.accepts(R"({"name": "Al", "age": 3, "x": 1})"));    // no other properties
  EXPECT_FALSE(g.accepts(R"({"name": "Al", "age": 3,})"));           // trailing comma
  EXPECT_FALSE(g.accepts(R"({"name": "Al", "age": 03})"));           // leading zero
  EXPECT_FALSE(g.accepts(R"({"name": "A)" "\x01" R"(", "age": 3})"));  // control character
}

TEST(JsonSchema, AllOptionalPropertiesAndAdditionalProperties) {
  const SchemaGrammar opt(R"({"properties": {"a": {"type": "null"}, "b": {"const": 7}}})");
  EXPECT_TRUE(opt.accepts("{}")) << opt.text();
  EXPECT_TRUE(opt.accepts(R"({"b": 7})"));
  EXPECT_TRUE(opt.accepts(R"({"a": null, "b": 7})"));
  EXPECT_FALSE(opt.accepts(R"({"b": 8})"));
  EXPECT_FALSE(opt.accepts(R"({, "b": 7})"));
  const SchemaGrammar extra(R"({"type": "object", "properties": {"id": {"type": "integer"}},
                               "required": ["id"], "additionalProperties": {"type": "number"}})");
  EXPECT_TRUE(extra.accepts(R"({"id": 1, "x": 2.5, "y": -1e3})")) << extra.text();
  EXPECT_FALSE(extra.accepts(R"({"id": 1, "x": "s"})"));
  const SchemaGrammar map(R"({"type": "object", "additionalProperties": {"type": "boolean"}})");
  EXPECT_TRUE(map.accepts("{}"));
  EXPECT_TRUE(map.accepts(R"({"k": true, "j": false})"));
  EXPECT_FALSE(map.accepts(R"({"k": 1})"));
  const SchemaGrammar any_object(R"({"type": "object"})");
  EXPECT_TRUE(any_object.accepts(R"({"k": [1, {"x": null}], "s": "t"})"));
  EXPECT_FALSE(any_object.accepts("[]"));
}

TEST(JsonSchema, ArraysEnumsUnionsAndStringLengths) {
  const SchemaGrammar arr(R"({"type": "array", "items": {"enum": ["red", "green", 3]}, "minItems": 1, "maxItems": 3})");
  EXPECT_TRUE(arr.accepts(R"(["red"])")) << arr.text();
  EXPECT_TRUE(arr.accepts(R"(["red", 3, "green"])"));
  EXPECT_FALSE(arr.accepts("[]"));
  EXPECT_FALSE(arr.accepts(R"(["red", 3, "green", 3])"));
  EXPECT_FALSE(arr.accepts(R"(["blue"])"));
  const SchemaGrammar tuple(R"({"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]})");
  EXPECT_TRUE(tuple.accepts(R"(["a", 1.5])"));
  EXPECT_FALSE(tuple.accepts(R"(["a"])"));
  const SchemaGrammar uni(R"({"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]})");
  EXPECT_TRUE(uni.accepts("5"));
  EXPECT_TRUE(uni.accepts("[5, 6]"));
  EXPECT_FALSE(uni.accepts("\"5\""));
  const SchemaGrammar types(R"({"type": ["string", "null"], "minLength": 2, "maxLength": 3})");
  EXPECT_TRUE(types.accepts("null"));
  EXPECT_TRUE(types.accepts("\"ab\""));
  EXPECT_TRUE(types.accepts("\"a\\nc\""));  // an escape is one character
  EXPECT_FALSE(types.accepts("\"a\""));
  EXPECT_FALSE(types.accepts("\"abcd\""));
}

TEST(JsonSchema, RefsRecursionAllOfAndFormats) {
  const SchemaGrammar tree(R"({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
      "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
      "required": ["value"]}}})");
  EXPECT_TRUE(tree.accepts(R"({"value": 1, "children": [{"value": 2}, {"value": 3, "children": []}]})")) << tree.text();
  EXPECT_FALSE(tree.accepts(R"({"value": 1, "children": [{}]})"));
  const SchemaGrammar all(R"({"definitions": {"named": {"properties": {"name": {"type": "string"}}, "required": ["name"]}},
      "allOf": [{"$ref": "#/definitions/named"}, {"properties": {"id": {"type": "integer"}}, "required": ["id"]}]})");
  EXPECT_TRUE(all.accepts(R"({"name": "x", "id": 2})")) << all.text();
  EXPECT_FALSE(all.accepts(R"({"name": "x"})"));
  const SchemaGrammar formats(R"({"type": "object", "properties": {"d": {"type": "string", "format": "date"},
      "t": {"type": "string", "format": "date-time"}, "u": {"type": "string", "format": "uuid"},
      "e": {"type": "string", "format": "email"}}, "required": ["d", "t", "u", "e"]})");
  EXPECT_TRUE(formats.accepts(R"({"d": "2026-11-24", "t": "2026-11-24T13:05:00Z",
      "u": "123e4567-e89b-12d3-a456-426614174000", "e": "any text"})")) << formats.text();
  for (const char* day : {"2026-13-24", "2026-02-30", "2026-04-31", "0000-01-01"}) {
    EXPECT_FALSE(formats.accepts(std::string(R"({"d": ")") + day + R"(", "t": "2026-11-24T13:05:00Z",
        "u": "123e4567-e89b-12d3-a456-426614174000", "e": ""})")) << day;
  }
}

// Integer bounds (zod's .int() writes the safe-integer ones; .min/.max/.positive others):
// the grammar writes exactly the integers inside, compared with every integer in a window.
TEST(JsonSchema, IntegerBoundsAdmitExactlyTheIntegersInside) {
  const struct {
    const char* bounds;
    int64_t lo, hi;  // inclusive; INT64_MIN / INT64_MAX: unbounded
  } cases[] = {
      {R"("minimum": 0)", 0, INT64_MAX},
      {R"("minimum": 1, "maximum": 10)", 1, 10},
      {R"("minimum": -15, "maximum": 123)", -15, 123},
      {R"("minimum": -250, "maximum": -7)", -250, -7},
      {R"("exclusiveMinimum": 0, "exclusiveMaximum": 1000)", 1, 999},
      {R"("minimum": 2.5, "maximum": 19.9)", 3, 19},
      {R"("maximum": 42)", INT64_MIN, 42},
      {R"("minimum": 3, "exclusiveMinimum": true)", 4, INT64_MAX},  // draft 4
      {R"("minimum": 99, "maximum": 1001)", 99, 1001},
      {R"("minimum": -9007199254740991, "maximum": 9007199254740991)", -9007199254740991, 9007199254740991},
  };
  for (const auto& c : cases) {
    SchemaGrammar g(std::string(R"({"type": "integer", )") + c.bounds + "}");
    for (int64_t n = -1200; n <= 1200; ++n)
      ASSERT_EQ(g.accepts(std::to_string(n)), n >= c.lo && n <= c.hi) << c.bounds << ": " << n << "\n" << g.text();
    for (const int64_t n : {INT64_MIN + 1, int64_t{-9007199254740991}, int64_t{9007199254740991}, int64_t{123456789012}})
      ASSERT_EQ(g.accepts(std::to_string(n)), n >= c.lo && n <= c.hi) << c.bounds << ": " << n;
    EXPECT_FALSE(g.accepts("-0")) << c.bounds;
    EXPECT_FALSE(g.accepts("007")) << c.bounds;
  }
}

TEST(JsonSchema, ErrorsNameTheKeywordAndWhere) {
  const struct {
    const char* schema;
    const char* error;
  } bad[] = {
      {R"({"type": "string", "pattern": "^a+$"})", "#: keyword 'pattern' is not supported"},
      {R"({"properties": {"n": {"type": "number", "minimum": 0.5}}})", "#/properties/n/minimum: bounds on a non-integer number"},
      {R"({"type": "integer", "minimum": 5, "exclusiveMaximum": 5})", "the bounds leave no integer"},
      {R"({"type": "object", "properties": {}, "required": ["x"]})", "#/required"},
      {R"({"$ref": "#/$defs/missing"})", "does not point into the schema"},
      {R"({"$ref": "http://example.com/s.json"})", "only local references"},
      {R"({"type": "strung"})", "unknown type 'strung'"},
      {R"({"type": "array", "minItems": 3, "maxItems": 2})", "maxItems is below minItems"},
      {R"({"enum": []})", "#/enum: must be a non-empty array"},
      {R"({"type": "object", )", "not valid JSON"},
      {"false", "accepts nothing"},
  };
  for (const auto& b : bad) {
    const auto g = json_schema_to_gbnf(b.schema);
    ASSERT_FALSE(g.ok()) << b.schema;
    EXPECT_NE(g.error().message.find(b.error), std::string::npos) << b.schema << " -> " << g.error().message;
  }
}

TEST(JsonSchema, JsonModeAcceptsObjectsOnly) {
  auto g = parse_gbnf(json_object_gbnf());
  ASSERT_TRUE(g.ok()) << g.error().message;
  const auto grammar = std::make_shared<const Grammar>(std::move(*g));
  auto accepts = [&](std::string_view doc) {
    GrammarMatcher m(grammar);
    if (!m.can_accept(doc)) return false;
    m.accept(doc);
    return m.is_complete();
  };
  EXPECT_TRUE(accepts(R"({"a": [1, 2.5e-3, "x", true, null, {"b": {}}], "c": "\u00e9"})"));
  EXPECT_TRUE(accepts("{}"));
  EXPECT_FALSE(accepts("[1]"));
  EXPECT_FALSE(accepts("\"x\""));
  EXPECT_FALSE(accepts(R"({"a": 1)"));
  EXPECT_FALSE(accepts(R"({"a": tru})"));
  // Whitespace is bounded, so a model cannot pad for ever.
  EXPECT_FALSE(accepts("{\n" + std::string(30, ' ') + "}"));
}

}  // namespace
}  // namespace mx
