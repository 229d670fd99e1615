// The syntax tree the parser builds and the interpreter walks. One node type for expressions
// and one for statements; which fields a node uses depends on its kind (noted per kind).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace mx::chat {

struct SourcePos {
  int line = 0;
  int col = 0;
};

enum class ExprKind : uint8_t {
  kLiteral,   // value
  kName,      // name
  kList,      // args: items
  kTuple,     // args: items
  kDict,      // args: key0, value0, key1, value1, ...
  kGetAttr,   // args[0].name
  kGetItem,   // args[0][args[1]]
  kSlice,     // args[0][args[1]:args[2]:args[3]], each bound may be null
  kCall,      // args[0](args[1..], kwargs, *dyn_args, **dyn_kwargs)
  kFilter,    // args[0] | name(args[1..], kwargs); args[0] is null in {% filter %} and {% set %} blocks
  kTest,      // args[0] is name(args[1..], kwargs)
  kUnary,     // op args[0]
  kBinary,    // args[0] op args[1]
  kCompare,   // args[0] ops[0] args[1] ops[1] args[2] ...
  kAnd,       // args[0] and args[1]
  kOr,        // args[0] or args[1]
  kNot,       // not args[0]
  kCondExpr,  // args[0] if args[1] else args[2] (args[2] may be null)
  kConcat,    // args[0] ~ args[1] ~ ...
};

enum class Op : uint8_t {
  kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow,  // binary
  kNeg, kPos,                                     // unary
  kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn,      // comparisons
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  SourcePos pos;
  Value value;
  std::string name;
  Op op = Op::kAdd;
  std::vector<Op> ops;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args;
  ExprPtr dyn_kwargs;
  int height = 1;  // of the subtree; the parser bounds it so evaluation cannot recurse too deep
};

// Left-hand side of `set`, `for` and `with`: a name, `ns.attr`, or a tuple of names.
struct Target {
  enum class Kind : uint8_t { kName, kNamespaceAttr, kTuple } kind = Kind::kName;
  SourcePos pos;
  std::string name;
  std::string attr;             // kNamespaceAttr
  std::vector<Target> items;    // kTuple
};

enum class StmtKind : uint8_t {
  kData,         // text
  kPrint,        // {{ expr }}
  kIf,           // if/elif branches (condition, body), else: else_body
  kFor,          // for target in expr [if cond]: body else: else_body
  kSet,          // set target = expr
  kSetBlock,     // set target [| filter]: body (filter in `expr`, may be null)
  kMacro,        // macro name(params = defaults): body
  kCallBlock,    // call [(params)] expr: body — body becomes `caller`
  kFilterBlock,  // filter expr: body
  kScope,        // body in its own scope: {% generation %} and {% with %} (assignments in `withs`)
  kBreak,
  kContinue,
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;

struct Stmt {
  StmtKind kind = StmtKind::kData;
  SourcePos pos;
  std::string text;                 // kData
  ExprPtr expr;
  ExprPtr cond;                     // kFor filter
  Target target;
  std::vector<StmtPtr> body;
  std::vector<StmtPtr> else_body;
  std::vector<std::pair<ExprPtr, std::vector<StmtPtr>>> branches;  // kIf
  // kMacro / kCallBlock: parameters; defaults[i] (may be null) belongs to params[i].
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;
  bool uses_varargs = false;
  bool uses_kwargs = false;
  bool uses_caller = false;
  std::vector<std::pair<Target, ExprPtr>> withs;  // kScope from {% with a = 1 %}
};

}  // namespace mx::chat
