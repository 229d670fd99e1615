// Python string formatting: str.format (as the sandbox's SandboxedFormatter runs it),
// printf-style `%`, and time.strftime for strftime_now.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include "chat/runtime.h"
#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

// fmt.format(*args, **kwargs): {} {0} {name} {0.attr} {0[key]}, !s/!r conversions and the
// format-spec mini-language for strings and numbers.
Expected<std::string> str_format(std::string_view fmt, const CallArgs& call, const RenderEnv& env);
// fmt % values: %s %r %d %i %f %e %g %x %o %c %% with flags, width and precision; a dict
// on the right supplies %(name)s.
Expected<std::string> percent_format(std::string_view fmt, const Value& values, const RenderEnv& env);
// time.strftime(fmt, t) for the C locale.
std::string strftime_c(std::string_view fmt, const std::tm& t);

}  // namespace mx::chat
