// Values of the template language, with Python's semantics (the reference is Jinja2 on
// CPython): none, bool, 64-bit int, float, UTF-8 str (optionally "Markup", the result of
// `| safe`), list/tuple, insertion-ordered dict, namespace, macro/builtin callables, the
// loop object and Jinja's Undefined.
//
// Lists and dicts are immutable once built (the reference's sandbox forbids append/pop),
// so they are shared by pointer. Only namespaces are mutable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mx::chat {

struct Stmt;
class Scope;

enum class Kind : uint8_t {
  kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable, kLoop,
};

// What Python type a kList value stands for, where the difference shows.
enum class SeqKind : uint8_t {
  kList,
  kTuple,        // printed with (), never equal to a list
  kGenerator,    // map/select/...: always truthy, no len(), iterates once, not JSON
  kReverseIter,  // the reverse filter on a list: like a generator
  kDictItems,    // dict.items() / keys() / values() views
  kDictKeys,
  kDictValues,
};

// Deepest nesting of lists/dicts a render may build; bounds every recursion over values.
inline constexpr int kMaxValueDepth = 512;

struct HeapObject {
  virtual ~HeapObject() = default;
};

struct StringObj;
struct ListObj;
struct DictObj;
struct NamespaceObj;
struct CallableObj;
struct LoopObj;

class Value {
 public:
  Value() = default;  // Undefined

  // An Undefined; `message` is the error raised when it is used (Jinja's hint).
  static Value undefined(std::string message);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double d);
  static Value string(std::string s, bool markup = false);
  static Value list(std::vector<Value> items, SeqKind kind = SeqKind::kList);
  static Value dict(std::vector<std::pair<Value, Value>> entries);  // keys already unique
  static Value ns(std::shared_ptr<NamespaceObj> obj);
  static Value callable(std::shared_ptr<CallableObj> obj);
  static Value loop(std::shared_ptr<LoopObj> obj);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kBool || kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  // int or bool: what Python accepts as an index.
  bool is_integral() const { return kind_ == Kind::kBool || kind_ == Kind::kInt; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }
  bool is_loop() const { return kind_ == Kind::kLoop; }
  bool is_markup() const { return kind_ == Kind::kString && markup_; }
  // A list or tuple proper (not a generator or view).
  bool is_sequence_list() const;
  SeqKind seq_kind() const;

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double as_float() const { return f_; }
  // Any number as a double.
  double to_double() const;

  const std::string& str() const;  // kString
  bool str_is_ascii() const;       // kString
  const ListObj& list_obj() const;
  const std::vector<Value>& items() const;  // kList (all items, consumed or not)
  const DictObj& dict_obj() const;
  NamespaceObj& ns_obj() const;
  const CallableObj& callable_obj() const;
  LoopObj& loop_obj() const;
  std::shared_ptr<NamespaceObj> ns_ptr() const;

  // The error message an Undefined raises when used.
  std::string undefined_message() const;
  // Nesting depth: 0 for scalars, 1 + deepest child for lists and dicts, 1 for objects.
  int depth() const;
  // Python `is`.
  bool same_object(const Value& other) const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool markup_ = false;
  union {
    bool b_;
    int64_t i_ = 0;
    double f_;
  };
  std::shared_ptr<HeapObject> obj_;
};

struct StringObj final : HeapObject {
  std::string text;
  bool ascii = true;
};

struct ListObj final : HeapObject {
  std::vector<Value> items;
  SeqKind kind = SeqKind::kList;
  int depth = 1;
  // Generators and iterators: how many items were already taken.
  mutable size_t consumed = 0;
};

struct DictObj final : HeapObject {
  std::vector<std::pair<Value, Value>> entries;
  int depth = 1;
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
};

struct NamespaceObj final : HeapObject {
  std::vector<std::pair<std::string, Value>> attrs;
  const Value* find(std::string_view name) const;
  void set(const std::string& name, Value v);
};

enum class CallableKind : uint8_t {
  kMacro,    // a {% macro %} or the `caller` of a {% call %} block
  kBuiltin,  // a global function: range, namespace, dict, raise_exception, strftime_now
  kMethod,   // a method bound to a value: 'a b'.split, d.items, loop.cycle
};

struct CallableObj final : HeapObject {
  CallableKind kind = CallableKind::kBuiltin;
  std::string name;
  const Stmt* macro = nullptr;     // kMacro: the definition, owned by the template
  std::shared_ptr<Scope> closure;  // kMacro: the scope it was defined in
  Value receiver;                  // kMethod
};

struct LoopObj final : HeapObject {
  std::vector<Value> items;  // every item the loop visits
  size_t index0 = 0;
  int depth0 = 0;
  bool has_changed_value = false;
  std::vector<Value> changed_value;  // last arguments of loop.changed()
};

// Python truthiness.
bool truthy(const Value& v);
// Python's type name, as in error messages: 'str', 'int', 'NoneType', 'list', ...
std::string type_name(const Value& v);
// Python ==.
bool py_equal(const Value& a, const Value& b);
// Python ordering (<): -1, 0 or 1; false when the types cannot be ordered.
bool py_compare(const Value& a, const Value& b, int& result);
// Whether Python could hash the value (dict keys, set members).
bool is_hashable(const Value& v);

// Builds a dict from pairs, later duplicates replacing earlier values in place.
Value make_dict(std::vector<std::pair<Value, Value>> pairs);

}  // namespace mx::chat
