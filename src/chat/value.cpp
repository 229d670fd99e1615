#include "chat/value.h"

#include <algorithm>

#include "chat/ustr.h"

namespace mx::chat {

Value Value::undefined(std::string message) {
  Value v;
  auto obj = std::make_shared<StringObj>();
  obj->text = std::move(message);
  v.obj_ = std::move(obj);
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

Value Value::number(double d) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.f_ = d;
  return v;
}

Value Value::string(std::string s, bool markup) {
  Value v;
  v.kind_ = Kind::kString;
  v.markup_ = markup;
  auto obj = std::make_shared<StringObj>();
  obj->ascii = ustr::is_ascii(s);
  obj->text = std::move(s);
  v.obj_ = std::move(obj);
  return v;
}

Value Value::list(std::vector<Value> items, SeqKind kind) {
  Value v;
  v.kind_ = Kind::kList;
  auto obj = std::make_shared<ListObj>();
  int deepest = 0;
  for (const Value& item : items) deepest = std::max(deepest, item.depth());
  obj->depth = deepest + 1;
  obj->items = std::move(items);
  obj->kind = kind;
  v.obj_ = std::move(obj);
  return v;
}

Value Value::dict(std::vector<std::pair<Value, Value>> entries) {
  Value v;
  v.kind_ = Kind::kDict;
  auto obj = std::make_shared<DictObj>();
  int deepest = 0;
  for (const auto& [k, val] : entries) deepest = std::max({deepest, k.depth(), val.depth()});
  obj->depth = deepest + 1;
  obj->entries = std::move(entries);
  v.obj_ = std::move(obj);
  return v;
}

Value Value::ns(std::shared_ptr<NamespaceObj> obj) {
  Value v;
  v.kind_ = Kind::kNamespace;
  v.obj_ = std::move(obj);
  return v;
}

Value Value::callable(std::shared_ptr<CallableObj> obj) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.obj_ = std::move(obj);
  return v;
}

Value Value::loop(std::shared_ptr<LoopObj> obj) {
  Value v;
  v.kind_ = Kind::kLoop;
  v.obj_ = std::move(obj);
  return v;
}

bool Value::is_sequence_list() const {
  return kind_ == Kind::kList && (list_obj().kind == SeqKind::kList || list_obj().kind == SeqKind::kTuple);
}

SeqKind Value::seq_kind() const { return list_obj().kind; }

double Value::to_double() const {
  switch (kind_) {
    case Kind::kBool: return b_ ? 1.0 : 0.0;
    case Kind::kInt: return static_cast<double>(i_);
    case Kind::kFloat: return f_;
    default: return 0.0;
  }
}

const std::string& Value::str() const { return static_cast<const StringObj&>(*obj_).text; }
bool Value::str_is_ascii() const { return static_cast<const StringObj&>(*obj_).ascii; }
const ListObj& Value::list_obj() const { return static_cast<const ListObj&>(*obj_); }
const std::vector<Value>& Value::items() const { return list_obj().items; }
const DictObj& Value::dict_obj() const { return static_cast<const DictObj&>(*obj_); }
NamespaceObj& Value::ns_obj() const { return static_cast<NamespaceObj&>(*obj_); }
const CallableObj& Value::callable_obj() const { return static_cast<const CallableObj&>(*obj_); }
LoopObj& Value::loop_obj() const { return static_cast<LoopObj&>(*obj_); }
std::shared_ptr<NamespaceObj> Value::ns_ptr() const { return std::static_pointer_cast<NamespaceObj>(obj_); }

std::string Value::undefined_message() const {
  if (kind_ == Kind::kUndefined && obj_) return static_cast<const StringObj&>(*obj_).text;
  return "value is undefined";
}

int Value::depth() const {
  switch (kind_) {
    case Kind::kList: return list_obj().depth;
    case Kind::kDict: return dict_obj().depth;
    case Kind::kNamespace:
    case Kind::kCallable:
    case Kind::kLoop: return 1;
    default: return 0;
  }
}

bool Value::same_object(const Value& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kBool: return b_ == other.b_;
    case Kind::kInt: return i_ == other.i_;  // CPython caches small ints; close enough
    case Kind::kFloat: return f_ == other.f_;
    default: return obj_ == other.obj_;
  }
}

const Value* DictObj::find(const Value& key) const {
  for (const auto& [k, v] : entries) {
    if (py_equal(k, key)) return &v;
  }
  return nullptr;
}

const Value* DictObj::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k.is_string() && k.str() == key) return &v;
  }
  return nullptr;
}

const Value* NamespaceObj::find(std::string_view name) const {
  for (const auto& [k, v] : attrs) {
    if (k == name) return &v;
  }
  return nullptr;
}

void NamespaceObj::set(const std::string& name, Value v) {
  for (auto& [k, old] : attrs) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  attrs.emplace_back(name, std::move(v));
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return v.as_bool();
    case Kind::kInt: return v.as_int() != 0;
    case Kind::kFloat: return v.as_float() != 0.0;
    case Kind::kString: return !v.str().empty();
    case Kind::kList:
      switch (v.seq_kind()) {
        case SeqKind::kGenerator:
        case SeqKind::kReverseIter: return true;
        default: return !v.items().empty();
      }
    case Kind::kDict: return !v.dict_obj().entries.empty();
    default: return true;
  }
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return v.is_markup() ? "Markup" : "str";
    case Kind::kList:
      switch (v.seq_kind()) {
        case SeqKind::kList: return "list";
        case SeqKind::kTuple: return "tuple";
        case SeqKind::kGenerator: return "generator";
        case SeqKind::kReverseIter: return "list_reverseiterator";
        case SeqKind::kDictItems: return "dict_items";
        case SeqKind::kDictKeys: return "dict_keys";
        case SeqKind::kDictValues: return "dict_values";
      }
      return "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kCallable:
      switch (v.callable_obj().kind) {
        case CallableKind::kMacro: return "Macro";
        case CallableKind::kBuiltin: return "function";
        case CallableKind::kMethod: return "builtin_function_or_method";
      }
      return "function";
    case Kind::kLoop: return "LoopContext";
  }
  return "object";
}

bool py_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.to_double() == b.to_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.str() == b.str();
    case Kind::kList: {
      const SeqKind ka = a.seq_kind(), kb = b.seq_kind();
      if (ka != kb) return false;
      if (ka == SeqKind::kGenerator || ka == SeqKind::kReverseIter || ka == SeqKind::kDictValues) {
        return a.same_object(b);
      }
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!py_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const auto& x = a.dict_obj().entries;
      const auto& y = b.dict_obj();
      if (x.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* other = y.find(k);
        if (!other || !py_equal(v, *other)) return false;
      }
      return true;
    }
    default: return a.same_object(b);
  }
}

bool py_compare(const Value& a, const Value& b, int& result) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      const double x = a.to_double(), y = b.to_double();
      result = x < y ? -1 : (x > y ? 1 : 0);
    } else {
      const int64_t x = a.as_int(), y = b.as_int();
      result = x < y ? -1 : (x > y ? 1 : 0);
    }
    return true;
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.str().compare(b.str());  // UTF-8 byte order is code point order
    result = c < 0 ? -1 : (c > 0 ? 1 : 0);
    return true;
  }
  if (a.is_sequence_list() && b.is_sequence_list() && a.seq_kind() == b.seq_kind()) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!py_equal(x[i], y[i])) return py_compare(x[i], y[i], result);
    }
    result = x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
    return true;
  }
  return false;
}

bool is_hashable(const Value& v) {
  switch (v.kind()) {
    case Kind::kList:
      switch (v.seq_kind()) {
        case SeqKind::kTuple:
          return std::all_of(v.items().begin(), v.items().end(), [](const Value& x) { return is_hashable(x); });
        case SeqKind::kGenerator:
        case SeqKind::kReverseIter:
        case SeqKind::kDictValues: return true;
        default: return false;
      }
    case Kind::kDict: return false;
    default: return true;
  }
}

Value make_dict(std::vector<std::pair<Value, Value>> pairs) {
  std::vector<std::pair<Value, Value>> entries;
  entries.reserve(pairs.size());
  for (auto& [k, v] : pairs) {
    bool replaced = false;
    for (auto& [ek, ev] : entries) {
      if (py_equal(ek, k)) {
        ev = std::move(v);
        replaced = true;
        break;
      }
    }
    if (!replaced) entries.emplace_back(std::move(k), std::move(v));
  }
  return Value::dict(std::move(entries));
}

}  // namespace mx::chat
