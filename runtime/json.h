// A small JSON reader that remembers where each value came from (line and column),
// so that model files get errors like `model.json:12:5: layers[2].units: ...`.
// Header-only and dependency-free: the emitted code uses it for safetensors headers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace dlc_rt::json {

struct Pos {
  int line = 1;
  int col = 1;
};

// Thrown on malformed text; carries the position of the offending character.
struct ParseError : std::runtime_error {
  Pos pos;
  ParseError(Pos p, const std::string& msg) : std::runtime_error(msg), pos(p) {}
};

enum class Kind { Null, Bool, Number, String, Array, Object };

inline const char* kind_name(Kind k) {
  switch (k) {
  case Kind::Null: return "null";
  case Kind::Bool: return "a boolean";
  case Kind::Number: return "a number";
  case Kind::String: return "a string";
  case Kind::Array: return "an array";
  case Kind::Object: return "an object";
  }
  return "?";
}

struct Value {
  Kind kind = Kind::Null;
  Pos pos;
  bool boolean = false;
  double number = 0;
  bool is_integer = false; // written without fraction or exponent
  std::string text;        // string value, or the number's source text
  std::vector<Value> items;
  // Object members in source order (duplicates are rejected by the parser).
  std::vector<std::pair<std::string, Value>> members;
  std::vector<Pos> key_pos; // position of each member's key

  // Declared here, defined below where Value is complete: vector<pair<string, Value>>
  // needs the complete pair to instantiate its members, and C++20's constexpr vector
  // instantiates them as soon as an implicit member would be defined inline.
  Value();
  Value(const Value&);
  Value(Value&&) noexcept;
  Value& operator=(const Value&);
  Value& operator=(Value&&) noexcept;
  ~Value();

  const Value* find(const std::string& key) const {
    for (auto& m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
  bool is(Kind k) const { return kind == k; }
};

inline Value::Value() = default;
inline Value::Value(const Value&) = default;
inline Value::Value(Value&&) noexcept = default;
inline Value& Value::operator=(const Value&) = default;
inline Value& Value::operator=(Value&&) noexcept = default;
inline Value::~Value() = default;

class Parser {
public:
  explicit Parser(const std::string& text) : s_(text) {}

  Value parse_document() {
    skip_ws();
    Value v = parse_value(0);
    skip_ws();
    if (i_ < s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

private:
  const std::string& s_;
  size_t i_ = 0;
  Pos pos_;
  static constexpr int kMaxDepth = 256;

  [[noreturn]] void fail(const std::string& msg) const { throw ParseError(pos_, msg); }

  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool at_end() const { return i_ >= s_.size(); }
  // Columns count characters, as editors show them: UTF-8 continuation bytes do not
  // start a new column.
  void advance() {
    if (s_[i_] == '\n') {
      pos_.line++;
      pos_.col = 1;
    } else if ((static_cast<unsigned char>(s_[i_]) & 0xC0) != 0x80) {
      pos_.col++;
    }
    i_++;
  }
  void skip_ws() {
    while (!at_end()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') advance();
      else break;
    }
  }
  void expect(char c) {
    if (at_end()) fail(std::string("unexpected end of input, expected '") + c + "'");
    if (peek() != c) fail(std::string("expected '") + c + "', got " + describe_here());
    advance();
  }
  std::string describe_here() const {
    if (at_end()) return "end of input";
    char c = peek();
    if (c >= 32 && c < 127) return std::string("'") + c + "'";
    if (static_cast<unsigned char>(c) >= 0x80) return "a non-ASCII character";
    return "a control character";
  }

  Value parse_value(int depth) {
    if (depth >= kMaxDepth) fail("nesting deeper than 256 levels");
    if (at_end()) fail("unexpected end of input, expected a value");
    Value v;
    v.pos = pos_;
    char c = peek();
    if (c == '{') parse_object(v, depth);
    else if (c == '[') parse_array(v, depth);
    else if (c == '"') {
      v.kind = Kind::String;
      v.text = parse_string();
    } else if (c == '-' || (c >= '0' && c <= '9')) parse_number(v);
    else if (match_word("true")) {
      v.kind = Kind::Bool;
      v.boolean = true;
    } else if (match_word("false")) {
      v.kind = Kind::Bool;
    } else if (match_word("null")) {
      v.kind = Kind::Null;
    } else {
      fail("expected a value, got " + describe_here());
    }
    return v;
  }

  bool match_word(const char* w) {
    size_t n = std::char_traits<char>::length(w);
    if (s_.compare(i_, n, w) != 0) return false;
    for (size_t k = 0; k < n; k++) advance();
    return true;
  }

  void parse_object(Value& v, int depth) {
    v.kind = Kind::Object;
    advance(); // '{'
    skip_ws();
    if (peek() == '}') {
      advance();
      return;
    }
    std::unordered_set<std::string> seen;
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("expected a quoted member name, got " + describe_here());
      Pos kp = pos_;
      std::string key = parse_string();
      // A set, not Value::find: a hostile header of 10^5 members must not cost 10^10.
      if (!seen.insert(key).second) throw ParseError(kp, "duplicate member \"" + key + "\"");
      skip_ws();
      expect(':');
      skip_ws();
      Value item = parse_value(depth + 1);
      v.members.emplace_back(std::move(key), std::move(item));
      v.key_pos.push_back(kp);
      skip_ws();
      if (peek() == ',') {
        advance();
        continue;
      }
      if (peek() == '}') {
        advance();
        return;
      }
      fail("expected ',' or '}' in object, got " + describe_here());
    }
  }

  void parse_array(Value& v, int depth) {
    v.kind = Kind::Array;
    advance(); // '['
    skip_ws();
    if (peek() == ']') {
      advance();
      return;
    }
    for (;;) {
      skip_ws();
      v.items.push_back(parse_value(depth + 1));
      skip_ws();
      if (peek() == ',') {
        advance();
        continue;
      }
      if (peek() == ']') {
        advance();
        return;
      }
      fail("expected ',' or ']' in array, got " + describe_here());
    }
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  uint32_t parse_hex4() {
    uint32_t cp = 0;
    for (int k = 0; k < 4; k++) {
      if (at_end()) fail("unexpected end of input in \\u escape");
      char h = peek();
      uint32_t d;
      if (h >= '0' && h <= '9') d = uint32_t(h - '0');
      else if (h >= 'a' && h <= 'f') d = uint32_t(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') d = uint32_t(h - 'A' + 10);
      else fail("invalid hex digit in \\u escape");
      cp = cp * 16 + d;
      advance();
    }
    return cp;
  }

  std::string parse_string() {
    advance(); // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      char c = peek();
      if (c == '"') {
        advance();
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        advance();
        continue;
      }
      advance();
      if (at_end()) fail("unterminated escape");
      char e = peek();
      advance();
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = parse_hex4();
        if (cp >= 0xD800 && cp < 0xDC00) {
          if (!match_word("\\u")) fail("unpaired surrogate in \\u escape");
          uint32_t lo = parse_hex4();
          if (lo < 0xDC00 || lo > 0xDFFF) fail("invalid low surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail("unpaired low surrogate in \\u escape");
        }
        append_utf8(out, cp);
        break;
      }
      default: fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  void parse_number(Value& v) {
    v.kind = Kind::Number;
    size_t start = i_;
    bool integer = true;
    if (peek() == '-') advance();
    if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit after '-'");
    if (peek() == '0') advance();
    else
      while (peek() >= '0' && peek() <= '9') advance();
    if (peek() == '.') {
      integer = false;
      advance();
      if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit after '.'");
      while (peek() >= '0' && peek() <= '9') advance();
    }
    if (peek() == 'e' || peek() == 'E') {
      integer = false;
      advance();
      if (peek() == '+' || peek() == '-') advance();
      if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit in exponent");
      while (peek() >= '0' && peek() <= '9') advance();
    }
    v.text = s_.substr(start, i_ - start);
    v.number = std::strtod(v.text.c_str(), nullptr);
    if (std::isinf(v.number)) throw ParseError(v.pos, "number " + v.text + " is out of range");
    v.is_integer = integer;
  }
};

inline Value parse(const std::string& text) { return Parser(text).parse_document(); }

} // namespace dlc_rt::json
