// Python's operators on template values: arithmetic with int/float promotion and floor
// semantics, str/list concatenation and repetition, Markup's escaping on `+`, printf-style
// `%`, comparisons and `in`. Integers are 64-bit: where Python would grow a big integer
// the operation fails instead.
#pragma once

#include "chat/ast.h"
#include "chat/runtime.h"
#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

Expected<Value> binary_op(Op op, const Value& a, const Value& b, const RenderEnv& env);
Expected<Value> unary_op(Op op, const Value& a);
// ==, !=, <, <=, >, >=, in, not in
Expected<bool> compare_op(Op op, const Value& a, const Value& b);

}  // namespace mx::chat
