// Errors as values at every boundary (files, requests, templates).
// C++20 has no std::expected, so this is a small stand-in with the same shape.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace mx {

// A message a user can act on: what is wrong and where.
struct Error {
  std::string message;
};

template <class... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{fmt::format(f, std::forward<Args>(args)...)};
}

template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Expected<void>: success or an Error.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : err_(std::move(error)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Expected<void>;

}  // namespace mx

// Evaluates an Expected; on error returns the error from the enclosing function,
// otherwise assigns the value to lhs.
#define MX_TRY_ASSIGN(lhs, expr)    \
  do {                              \
    auto mx_try_ = (expr);          \
    if (!mx_try_) return mx_try_.error(); \
    lhs = std::move(*mx_try_);      \
  } while (0)

// Invariants that hold whatever the input: always checked, abort with a message.
#define MX_CHECK(cond)                                                              \
  do {                                                                              \
    if (!(cond)) ::mx::detail::check_failed(#cond, __FILE__, __LINE__);             \
  } while (0)

#ifdef NDEBUG
#define MX_DCHECK(cond) ((void)0)
#else
#define MX_DCHECK(cond) MX_CHECK(cond)
#endif

namespace mx::detail {
[[noreturn]] void check_failed(const char* cond, const char* file, int line);
}
