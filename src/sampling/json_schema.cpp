#include "sampling/json_schema.h"

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampling/integer_range.h"

namespace mx {

namespace {

using json = nlohmann::ordered_json;  // properties keep the schema's order

// The pieces every JSON grammar needs. Whitespace is bounded: a model that starts
// emitting blank lines inside JSON cannot go on for ever.
const std::map<std::string, std::string>& primitives() {
  static const std::map<std::string, std::string> rules = {
      {"ws", R"(| " " | "\n" [ \t]{0,20})"},
      {"char", R"([^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}))"},
      {"string", R"("\"" char* "\"" ws)"},
      {"integral", R"("-"? ("0" | [1-9] [0-9]{0,15}))"},
      {"integer", R"(integral ws)"},
      {"number", R"(integral ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,16})? ws)"},
      {"boolean", R"(("true" | "false") ws)"},
      {"null", R"("null" ws)"},
      {"value", R"(object | array | string | number | boolean | null)"},
      {"object", R"("{" ws (string ":" ws value ("," ws string ":" ws value)*)? "}" ws)"},
      {"array", R"("[" ws (value ("," ws value)*)? "]" ws)"},
      // Years 1000-9999 and days that exist in every year (no February 29): a subset of
      // valid dates, so what is generated passes any validator.
      {"date", R"([1-9] [0-9]{3} "-" (("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02-" ("0" [1-9] | "1" [0-9] | "2" [0-8])))"},
      {"time", R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]))"},
      {"uuid", R"([0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12})"},
  };
  return rules;
}

// Which primitives a primitive's body refers to.
const std::map<std::string, std::vector<std::string>>& primitive_uses() {
  static const std::map<std::string, std::vector<std::string>> uses = {
      {"string", {"char", "ws"}},
      {"integer", {"integral", "ws"}},
      {"number", {"integral", "ws"}},
      {"boolean", {"ws"}},
      {"null", {"ws"}},
      {"value", {"object", "array", "string", "number", "boolean", "null"}},
      {"object", {"ws", "string", "value"}},
      {"array", {"ws", "value"}},
  };
  return uses;
}

// Keywords that only describe: safe to ignore.
const std::set<std::string>& annotations() {
  static const std::set<std::string> words = {
      "$schema", "$id", "$comment", "$anchor", "title", "description", "default", "examples",
      "readOnly", "writeOnly", "deprecated", "format", "contentMediaType", "contentEncoding",
      "$defs", "definitions"};
  return words;
}

// Keywords this converter turns into grammar.
const std::set<std::string>& understood() {
  static const std::set<std::string> words = {
      "type", "properties", "required", "additionalProperties", "enum", "const", "items",
      "prefixItems", "minItems", "maxItems", "minLength", "maxLength", "anyOf", "oneOf",
      "allOf", "$ref", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
  return words;
}

struct SchemaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A GBNF string literal of raw bytes.
std::string literal(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (b < 0x20 || b == 0x7f) {
      out += fmt::format("\\x{:02X}", b);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The JSON text of a value as a literal: an enum or const member, a property name.
std::string json_literal(const json& value) {
  return literal(value.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string rule_name(std::string_view hint) {
  std::string out;
  for (const char c : hint) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return out.empty() ? "r" : out;
}

class Converter {
 public:
  explicit Converter(const json& root) : root_(root) {}

  std::string convert() {
    const std::string body = visit(root_, "root", "#");
    rules_.insert(rules_.begin(), {"root", body});
    std::string out;
    for (const auto& [name, rule_body] : rules_) out += name + " ::= " + rule_body + "\n";
    for (const auto& [name, rule_body] : primitives())
      if (used_.count(name)) out += name + " ::= " + rule_body + "\n";
    return out;
  }

 private:
  std::string use(const std::string& primitive) {
    if (used_.insert(primitive).second)
      if (const auto it = primitive_uses().find(primitive); it != primitive_uses().end())
        for (const std::string& p : it->second) use(p);
    return primitive;
  }

  // Adds a rule (a fresh name from `hint`) and returns its name.
  std::string add_rule(const std::string& hint, const std::string& body) {
    std::string name = rule_name(hint);
    for (int k = 2; taken(name); ++k) name = rule_name(hint) + "-" + std::to_string(k);
    rules_.emplace_back(name, body);
    return name;
  }
  bool taken(const std::string& name) const {
    if (primitives().count(name) || name == "root") return true;
    for (const auto& r : rules_)
      if (r.first == name) return true;
    return false;
  }

  [[noreturn]] static void fail(const std::string& path, const std::string& message) {
    throw SchemaError(path + ": " + message);
  }

  // A GBNF expression for the JSON values `schema` accepts, ending with whitespace.
  std::string visit(const json& schema, const std::string& hint, const std::string& path) {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) fail(path, "the schema false accepts nothing");
      return use("value");
    }
    if (!schema.is_object()) fail(path, "a schema must be an object or a boolean");
    for (const auto& [key, _] : schema.items())
      if (!understood().count(key) && !annotations().count(key))
        fail(path, "keyword '" + key + "' is not supported in grammars");

    if (schema.contains("$ref")) return reference(schema, path);
    if (schema.contains("const")) return "(" + json_literal(schema["const"]) + " " + use("ws") + ")";
    if (schema.contains("enum")) {
      const json& values = schema["enum"];
      if (!values.is_array() || values.empty()) fail(path + "/enum", "must be a non-empty array");
      std::string alts;
      for (const json& v : values) alts += (alts.empty() ? "" : " | ") + json_literal(v);
      return "((" + alts + ") " + use("ws") + ")";
    }
    for (const char* key : {"anyOf", "oneOf"})
      if (schema.contains(key)) {
        const json& options = schema[key];
        if (!options.is_array() || options.empty()) fail(path + "/" + key, "must be a non-empty array");
        std::string alts;
        for (size_t i = 0; i < options.size(); ++i)
          alts += (i ? " | " : "") + visit(options[i], hint + "-" + std::to_string(i),
                                           path + "/" + key + "/" + std::to_string(i));
        return "(" + alts + ")";
      }
    if (schema.contains("allOf")) return object(merge_all_of(schema, path), hint, path);

    if (schema.contains("type")) {
      const json& type = schema["type"];
      if (type.is_array()) {
        if (type.empty()) fail(path + "/type", "must not be empty");
        std::string alts;
        for (const json& t : type) {
          json one = schema;
          one["type"] = t;
          alts += (alts.empty() ? "" : " | ") + visit(one, hint, path);
        }
        return "(" + alts + ")";
      }
      if (!type.is_string()) fail(path + "/type", "must be a string or an array of strings");
      return typed(schema, type.get<std::string>(), hint, path);
    }
    if (schema.contains("properties") || schema.contains("additionalProperties")) return typed(schema, "object", hint, path);
    if (schema.contains("items") || schema.contains("prefixItems")) return typed(schema, "array", hint, path);
    if (schema.contains("minLength") || schema.contains("maxLength")) return typed(schema, "string", hint, path);
    return use("value");
  }

  std::string typed(const json& schema, const std::string& type, const std::string& hint, const std::string& path) {
    if (type == "string") return string(schema, hint, path);
    if (type == "integer") return integer(schema, path);
    if (type == "number") {
      for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
        if (schema.contains(key)) fail(path + "/" + key, "bounds on a non-integer number are not supported in grammars");
      return use(type);
    }
    if (type == "boolean" || type == "null") return use(type);
    if (type == "object") return object(schema, hint, path);
    if (type == "array") return array(schema, hint, path);
    fail(path + "/type", "unknown type '" + type + "'");
  }

  // An integer, within "minimum"/"maximum" and their exclusive forms when the schema has them
  // (draft 4's boolean exclusiveMinimum/exclusiveMaximum included). Bounds beyond 64 bits bound nothing.
  std::string integer(const json& schema, const std::string& path) {
    std::optional<int64_t> lo, hi;
    auto bound = [&](const char* key, const char* exclusive_key, bool lower) {
      if (!schema.contains(key)) return;
      const json& v = schema[key];
      if (v.is_boolean()) return;  // draft 4: the flag beside minimum/maximum
      if (!v.is_number()) fail(path + "/" + key, "must be a number");
      const bool exclusive = std::string_view(key).starts_with("exclusive") ||
                             (schema.contains(exclusive_key) && schema[exclusive_key].is_boolean() && schema[exclusive_key].get<bool>());
      const double x = v.get<double>();
      double n = lower ? (exclusive ? std::floor(x) + 1 : std::ceil(x)) : (exclusive ? std::ceil(x) - 1 : std::floor(x));
      if (n <= -9.2e18 || n >= 9.2e18) return;
      std::optional<int64_t>& b = lower ? lo : hi;
      const auto value = static_cast<int64_t>(n);
      if (!b || (lower ? value > *b : value < *b)) b = value;
    };
    bound("minimum", "exclusiveMinimum", true);
    bound("exclusiveMinimum", "", true);
    bound("maximum", "exclusiveMaximum", false);
    bound("exclusiveMaximum", "", false);
    if (!lo && !hi) return use("integer");
    if (lo && hi && *lo > *hi) fail(path, "the bounds leave no integer");
    return "(" + integer_range_gbnf(lo, hi) + " " + use("ws") + ")";
  }

  static size_t count(const json& schema, const char* key, size_t fallback, const std::string& path) {
    if (!schema.contains(key)) return fallback;
    const json& v = schema[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      fail(path + "/" + key, "must be a non-negative integer");
    // Grammars spell out counts; beyond this a grammar gets large for no practical gain.
    if (v.get<uint64_t>() > 10000) fail(path + "/" + key, "counts above 10000 are not supported in grammars");
    return v.get<size_t>();
  }

  // `item` repeated min..max times (max SIZE_MAX: unbounded), joined by `sep`.
  static std::string repeat(const std::string& item, size_t min, size_t max, const std::string& sep) {
    if (max == 0) return "";
    const std::string lo = std::to_string(min > 0 ? min - 1 : 0);
    const std::string more = "(" + sep + " " + item + ")";
    const std::string tail = more + "{" + lo + "," + (max == SIZE_MAX ? "" : std::to_string(max - 1)) + "}";
    const std::string seq = "(" + item + " " + tail + ")";
    return min == 0 ? seq + "?" : seq;
  }

  std::string string(const json& schema, const std::string& hint, const std::string& path) {
    static const std::map<std::string, std::string> formats = {
        {"date", "date"}, {"time", "time"}, {"date-time", "date \"T\" time"}, {"uuid", "uuid"}};
    if (schema.contains("format") && schema["format"].is_string()) {
      const auto it = formats.find(schema["format"].get<std::string>());
      if (it != formats.end()) {
        use(it->first == "date-time" ? "date" : it->first);
        if (it->first == "date-time") use("time");
        return "(\"\\\"\" " + it->second + " \"\\\"\" " + use("ws") + ")";
      }
    }
    if (!schema.contains("minLength") && !schema.contains("maxLength")) return use("string");
    const size_t min = count(schema, "minLength", 0, path);
    const size_t max = count(schema, "maxLength", SIZE_MAX, path);
    if (max < min) fail(path, "maxLength is below minLength");
    const std::string chars = max == SIZE_MAX ? "char{" + std::to_string(min) + ",}"
                                              : "char{" + std::to_string(min) + "," + std::to_string(max) + "}";
    use("char");
    return add_rule(hint, "\"\\\"\" " + chars + " \"\\\"\" " + use("ws"));
  }

  std::string array(const json& schema, const std::string& hint, const std::string& path) {
    const size_t min = count(schema, "minItems", 0, path);
    const size_t max = count(schema, "maxItems", SIZE_MAX, path);
    if (max < min) fail(path, "maxItems is below minItems");
    const std::string open = "\"[\" " + use("ws");
    const std::string close = "\"]\" " + use("ws");
    const std::string sep = "\",\" " + use("ws");
    if (schema.contains("prefixItems")) {  // a tuple: these items in this order, then no more
      const json& items = schema["prefixItems"];
      if (!items.is_array()) fail(path + "/prefixItems", "must be an array");
      if (schema.contains("items") && schema["items"] != json(false))
        fail(path + "/items", "items after prefixItems are not supported in grammars");
      std::string body;
      for (size_t i = 0; i < items.size(); ++i)
        body += (i ? " " + sep + " " : "") + visit(items[i], hint + "-" + std::to_string(i), path + "/prefixItems/" + std::to_string(i));
      return add_rule(hint, open + " " + body + " " + close);
    }
    const std::string item = schema.contains("items") ? visit(schema["items"], hint + "-item", path + "/items") : use("value");
    return add_rule(hint, open + " " + repeat(item, min, max, sep) + " " + close);
  }

  std::string object(const json& schema, const std::string& hint, const std::string& path) {
    const json empty = json::object();
    const json& props = schema.contains("properties") ? schema["properties"] : empty;
    if (!props.is_object()) fail(path + "/properties", "must be an object");
    std::set<std::string> required;
    if (schema.contains("required")) {
      if (!schema["required"].is_array()) fail(path + "/required", "must be an array");
      for (const json& r : schema["required"]) {
        if (!r.is_string() || !props.contains(r.get<std::string>()))
          fail(path + "/required", "lists " + r.dump() + ", which is not among the properties");
        required.insert(r.get<std::string>());
      }
    }
    // Without a list of properties, any names are allowed unless additionalProperties says
    // otherwise; with one, only the listed names unless it says otherwise (as llama.cpp).
    const bool listed = schema.contains("properties");
    const json extra = schema.contains("additionalProperties") ? schema["additionalProperties"] : json(!listed);
    if (!listed && extra == json(true)) return use("object");

    // Each property as `"name" ws ":" ws value`, in the schema's order.
    struct Member {
      std::string kv;
      bool required;
    };
    std::vector<Member> members;
    for (const auto& [key, sub] : props.items()) {
      const std::string value = visit(sub, hint + "-" + key, path + "/properties/" + key);
      members.push_back({json_literal(json(key)) + " " + use("ws") + " \":\" " + use("ws") + " " + value, required.count(key) > 0});
    }
    if (extra != json(false)) {  // any further names, after the listed ones
      const std::string value = visit(extra, hint + "-extra", path + "/additionalProperties");
      const std::string kv = add_rule(hint + "-extra-kv", use("string") + " \":\" " + use("ws") + " " + value);
      members.push_back({kv + " (\",\" " + use("ws") + " " + kv + ")*", false});
    }
    // first_i: the members from i on, the first one present needing no comma before it;
    // rest_i: the same after a member was written (each present one brings its comma).
    const std::string sep = "\",\" " + use("ws");
    std::string first = "", rest = "";
    for (size_t i = members.size(); i-- > 0;) {
      const Member& m = members[i];
      const std::string after = rest.empty() ? "" : " " + rest;
      const std::string new_rest =
          add_rule(hint + "-rest" + std::to_string(i), m.required ? sep + " " + m.kv + after
                                                                  : "(" + sep + " " + m.kv + ")?" + after);
      const std::string skip = first.empty() ? "" : first;
      const std::string new_first =
          add_rule(hint + "-first" + std::to_string(i),
                   m.required ? m.kv + after : m.kv + after + " | " + (skip.empty() ? "\"\"" : skip));
      rest = new_rest;
      first = new_first;
    }
    return add_rule(hint, "\"{\" " + use("ws") + " " + (first.empty() ? "" : first + " ") + "\"}\" " + use("ws"));
  }

  // allOf of object schemas: one object with all their properties and requirements.
  json merge_all_of(const json& schema, const std::string& path) {
    json merged = {{"type", "object"}, {"properties", json::object()}, {"required", json::array()}};
    for (size_t i = 0; i < schema["allOf"].size(); ++i) {
      const std::string at = path + "/allOf/" + std::to_string(i);
      json part = schema["allOf"][i];
      if (part.is_object() && part.contains("$ref")) part = resolve(part["$ref"], at);
      if (!part.is_object() || (part.contains("type") && part["type"] != "object"))
        fail(at, "allOf is supported for object schemas only");
      if (part.contains("properties"))
        for (const auto& [key, sub] : part["properties"].items()) merged["properties"][key] = sub;
      if (part.contains("required"))
        for (const json& r : part["required"]) merged["required"].push_back(r);
    }
    for (const auto& [key, sub] : schema.items())
      if (key == "properties")
        for (const auto& [k, s] : sub.items()) merged["properties"][k] = s;
      else if (key == "required")
        for (const json& r : sub) merged["required"].push_back(r);
    return merged;
  }

  const json& resolve(const json& ref, const std::string& path) {
    if (!ref.is_string() || ref.get<std::string>().rfind("#", 0) != 0)
      fail(path + "/$ref", "only local references (#/...) are supported");
    try {
      const json::json_pointer pointer(ref.get<std::string>().substr(1));
      return root_.at(pointer);
    } catch (const json::exception&) {
      fail(path + "/$ref", "'" + ref.get<std::string>() + "' does not point into the schema");
    }
  }

  std::string reference(const json& schema, const std::string& path) {
    if (schema.size() > 1)
      for (const auto& [key, _] : schema.items())
        if (key != "$ref" && !annotations().count(key)) fail(path, "'" + key + "' beside $ref is not supported");
    const std::string ref = schema["$ref"].is_string() ? schema["$ref"].get<std::string>() : "";
    if (const auto it = refs_.find(ref); it != refs_.end()) return it->second;
    const json& target = resolve(schema["$ref"], path);
    // Name the rule before visiting it, so a recursive schema refers to itself.
    const std::string name = add_rule("ref-" + ref.substr(ref.rfind('/') + 1), "");
    refs_[ref] = name;
    const std::string body = visit(target, name, ref);
    for (auto& r : rules_)
      if (r.first == name) r.second = body;
    return name;
  }

  const json& root_;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> used_;
  std::map<std::string, std::string> refs_;
};

}  // namespace

Expected<std::string> json_schema_to_gbnf(std::string_view schema_json) {
  json schema;
  try {
    schema = json::parse(schema_json);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for huge numbers
    return make_error("JSON schema is not valid JSON: {}", e.what());
  }
  try {
    return Converter(schema).convert();
  } catch (const SchemaError& e) {
    return make_error("JSON schema {}", e.what());
  } catch (const json::exception& e) {
    return make_error("JSON schema: {}", e.what());
  }
}

std::string json_object_gbnf() {
  std::string out = "root ::= object\n";
  for (const char* name : {"object", "value", "array", "string", "char", "number", "integral", "boolean", "null", "ws"})
    out += std::string(name) + " ::= " + primitives().at(name) + "\n";
  return out;
}

}  // namespace mx
