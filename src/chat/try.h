// Early return for Expected values inside the chat module, declaring the unwrapped value.
#pragma once

#define CHAT_TRY_CAT2(a, b) a##b
#define CHAT_TRY_CAT(a, b) CHAT_TRY_CAT2(a, b)

// CHAT_TRY(auto x, expr); — on error returns it, otherwise declares x from the value.
#define CHAT_TRY(decl, expr)                                              \
  auto CHAT_TRY_CAT(chat_try_, __LINE__) = (expr);                        \
  if (!CHAT_TRY_CAT(chat_try_, __LINE__)) return CHAT_TRY_CAT(chat_try_, __LINE__).error(); \
  decl = std::move(*CHAT_TRY_CAT(chat_try_, __LINE__))

// CHAT_CHECK(expr); — for Expected<void>.
#define CHAT_CHECK(expr)                                                  \
  do {                                                                    \
    auto chat_check_ = (expr);                                            \
    if (!chat_check_) return chat_check_.error();                         \
  } while (0)
