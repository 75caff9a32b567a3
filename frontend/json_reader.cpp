#include "frontend/json_reader.h"

#include "frontend/files.h"

#include <cmath>

namespace dlc::frontend {

namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t utf8_sequence_length(const std::string& s, size_t i) {
  auto byte = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  unsigned c = byte(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || c > 0xF4 || c == 0xC0 || c == 0xC1) return 0;
  for (size_t k = 1; k < n; k++)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  unsigned c1 = byte(i + 1);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
      (c == 0xF4 && c1 >= 0x90))
    return 0;
  return n;
}

// A model file is UTF-8 text. A NUL byte or invalid UTF-8 means a binary or mis-encoded
// file; say so at the first bad byte instead of letting the JSON parser report something
// puzzling later (columns count characters, as the parser's do).
void check_text(const std::string& text, const std::string& name) {
  int line = 1, col = 1;
  for (size_t i = 0; i < text.size();) {
    size_t n = text[i] == '\0' ? 0 : utf8_sequence_length(text, i);
    if (n == 0) {
      unsigned b = static_cast<unsigned char>(text[i]);
      throw Error(fmt::format("{}:{}:{}: not a UTF-8 text file: {} at byte offset {}", name, line, col,
                              b == 0 ? std::string("NUL byte") : fmt::format("invalid UTF-8 byte 0x{:02X}", b), i));
    }
    if (text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
    i += n;
  }
}

} // namespace

std::shared_ptr<JsonDoc> parse_json_text(const std::string& text, const std::string& name) {
  auto doc = std::make_shared<JsonDoc>();
  doc->file = name;
  check_text(text, name);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw Error(fmt::format("{}:1:1: the file is empty; expected a JSON object describing a model", name));
  // A UTF-8 byte order mark is allowed (RFC 8259 lets parsers ignore it); it is one
  // character, so replacing it by one space keeps every column right.
  bool bom = text.rfind("\xEF\xBB\xBF", 0) == 0;
  try {
    doc->root = json::parse(bom ? " " + text.substr(3) : text);
  } catch (const json::ParseError& e) {
    std::string why = e.what();
    // Most often a closing quote is missing and the string ran to the end of its line.
    if (why == "control character in string") why += " (strings end on the line they start; write \\n or \\t for a newline or tab)";
    throw Error(fmt::format("{}:{}:{}: malformed JSON: {}", name, e.pos.line, e.pos.col, why));
  }
  return doc;
}

std::shared_ptr<JsonDoc> load_json_file(const std::string& path) {
  return parse_json_text(read_file(path), path);
}

std::string JsonRef::location() const {
  std::string loc = fmt::format("{}:{}:{}", doc_->file, v_->pos.line, v_->pos.col);
  return path_.empty() ? loc : loc + ": " + path_;
}

std::optional<JsonRef> JsonRef::get(const std::string& key) const {
  expect(json::Kind::Object);
  const json::Value* m = v_->find(key);
  if (!m) return std::nullopt;
  return JsonRef(doc_, m, path_.empty() ? clip(key) : path_ + "." + clip(key));
}

JsonRef JsonRef::require(const std::string& key) const {
  auto r = get(key);
  if (!r) fail("missing required member '{}'", clip(key));
  return *r;
}

std::vector<std::string> JsonRef::keys() const {
  expect(json::Kind::Object);
  std::vector<std::string> k;
  for (auto& m : v_->members) k.push_back(m.first);
  return k;
}

void JsonRef::expect_only(const std::vector<std::string>& known, const std::string& what) const {
  expect(json::Kind::Object);
  for (size_t i = 0; i < v_->members.size(); i++) {
    const std::string& k = v_->members[i].first;
    bool ok = false;
    for (auto& n : known) ok |= n == k;
    if (ok) continue;
    auto pos = v_->key_pos[i];
    std::string p = path_.empty() ? clip(k) : path_ + "." + clip(k);
    std::string hint = did_you_mean(k, known);
    throw Error(fmt::format("{}:{}:{}: {}: unknown attribute '{}' for {}{}{}", doc_->file, pos.line,
                            pos.col, p, clip(k), what, hint.empty() ? "; known: " : hint,
                            hint.empty() ? join_names(known) : ""));
  }
}

JsonRef JsonRef::at(size_t i) const {
  expect(json::Kind::Array);
  return JsonRef(doc_, &v_->items[i], fmt::format("{}[{}]", path_, i));
}

std::string JsonRef::describe() const {
  switch (v_->kind) {
  case json::Kind::Number: return "got " + clip(v_->text);
  case json::Kind::String: return "got \"" + clip(v_->text) + "\"";
  case json::Kind::Bool: return v_->boolean ? "got true" : "got false";
  case json::Kind::Null: return "got null";
  default: return std::string("got ") + json::kind_name(v_->kind);
  }
}

const JsonRef& JsonRef::expect(json::Kind k) const {
  if (v_->kind != k) fail("expected {}, {}", json::kind_name(k), describe());
  return *this;
}

std::string JsonRef::as_string() const { return expect(json::Kind::String).v_->text; }
bool JsonRef::as_bool() const { return expect(json::Kind::Bool).v_->boolean; }
double JsonRef::as_number() const {
  expect(json::Kind::Number);
  if (!std::isfinite(v_->number)) fail("expected a finite number, {}", describe());
  return v_->number;
}

int64_t JsonRef::as_int() const {
  if (!is(json::Kind::Number) || !v_->is_integer || std::fabs(v_->number) > 9.0e15)
    fail("expected an integer, {}", describe());
  return int64_t(v_->number);
}

int64_t JsonRef::as_positive_int() const {
  if (!is(json::Kind::Number) || !v_->is_integer || v_->number <= 0 || v_->number > 9.0e15)
    fail("expected a positive integer, {}", describe());
  return int64_t(v_->number);
}

std::vector<int64_t> JsonRef::as_int_list() const {
  if (is(json::Kind::Number)) return {as_int()};
  if (!is(json::Kind::Array)) fail("expected an integer or a list of integers, {}", describe());
  std::vector<int64_t> out;
  for (size_t i = 0; i < size(); i++) out.push_back(at(i).as_int());
  return out;
}

std::string JsonRef::get_string(const std::string& key, const std::string& dflt) const {
  auto r = get(key);
  return r ? r->as_string() : dflt;
}
bool JsonRef::get_bool(const std::string& key, bool dflt) const {
  auto r = get(key);
  return r ? r->as_bool() : dflt;
}
double JsonRef::get_number(const std::string& key, double dflt) const {
  auto r = get(key);
  return r ? r->as_number() : dflt;
}
int64_t JsonRef::get_positive_int(const std::string& key, int64_t dflt) const {
  auto r = get(key);
  return r ? r->as_positive_int() : dflt;
}

} // namespace dlc::frontend
