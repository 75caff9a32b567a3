// The one error type of the dlc library. It carries a location (a file with line and
// column, a JSON path, a node name — whatever points the user at the cause); the CLI
// prints what() on one line and exits 1.
#pragma once

#include <fmt/format.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dlc {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws an Error whose text is `location: message` (no prefix when location is empty).
template <typename... Args>
[[noreturn]] void fail_at(const std::string& location, fmt::format_string<Args...> f,
                          Args&&... args) {
  std::string msg = fmt::format(f, std::forward<Args>(args)...);
  throw Error(location.empty() ? msg : location + ": " + msg);
}

// User text quoted in a message: at most `max_bytes` bytes of it (cut at a character
// boundary, "..." and the full length appended when cut), control characters and
// invalid UTF-8 written as escapes, so that a message stays one short line whatever the
// input holds (a 200 MB key, a name with a newline).
std::string clip(std::string_view text, size_t max_bytes = 80);

// A whole message made safe to print as one line: clip() with a larger budget.
std::string one_line(std::string_view message, size_t max_bytes = 2000);

// Closest candidate by edit distance, for "did you mean ...?" hints; empty if none is close.
std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates);

// ", did you mean 'x'?" or "" — convenient to append to a message.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// "a, b, c" — for listing the names a user may choose from.
std::string join_names(const std::vector<std::string>& names);

} // namespace dlc
