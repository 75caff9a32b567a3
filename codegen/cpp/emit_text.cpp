// User text in emitted source: comments and string literals that no input can break out
// of. Names are restricted by the frontend; paths and anything else are escaped here.
#include "codegen/cpp/emit_detail.h"
#include "ir/error.h"

namespace dlc::codegen::cpp {

namespace {

bool plain(unsigned char ch) { return ch >= 0x20 && ch < 0x7f; }

std::string hex_escape(unsigned char ch) { return fmt::format("\\x{:02x}", ch); }

} // namespace

std::string comment_text(std::string_view s, size_t max_chars) {
  std::string out;
  size_t shown = std::min(s.size(), max_chars);
  for (size_t i = 0; i < shown; i++) {
    unsigned char ch = static_cast<unsigned char>(s[i]);
    // A backslash could end a `//` line and splice the next one into the comment (or,
    // through "??/", a trigraph); '*' could close a block comment ("*/") or open one
    // inside it ("/*", a -Wcomment warning).
    if (!plain(ch) || ch == '\\' || ch == '?' || ch == '*') out += hex_escape(ch);
    else out += char(ch);
  }
  if (shown < s.size()) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

std::string string_literal(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') out += {'\\', char(ch)};
    else if (ch == '?') out += "\\?"; // no trigraphs
    else if (plain(ch)) out += char(ch);
    else out += fmt::format("\\{:03o}", ch); // octal: at most three digits, never greedy
  }
  return out + "\"";
}

void check_include_name(const std::string& file) {
  for (unsigned char ch : file)
    if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' || ch == '*')
      throw Error(fmt::format("-o: the file name '{}' cannot be written in an #include (control characters, "
                              "'\"', '\\\\' and '*' are not allowed)",
                              comment_text(file, 80)));
}

} // namespace dlc::codegen::cpp
