#include "frontend/json_reader.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dlc::frontend {

std::shared_ptr<JsonDoc> parse_json_text(const std::string& text, const std::string& name) {
  auto doc = std::make_shared<JsonDoc>();
  doc->file = name;
  try {
    doc->root = json::parse(text);
  } catch (const json::ParseError& e) {
    throw Error(fmt::format("{}:{}:{}: malformed JSON: {}", name, e.pos.line, e.pos.col, e.what()));
  }
  return doc;
}

std::shared_ptr<JsonDoc> load_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open file: {}", path, std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("{}: cannot read file", path));
  return parse_json_text(ss.str(), path);
}

std::string JsonRef::location() const {
  std::string loc = fmt::format("{}:{}:{}", doc_->file, v_->pos.line, v_->pos.col);
  return path_.empty() ? loc : loc + ": " + path_;
}

std::optional<JsonRef> JsonRef::get(const std::string& key) const {
  expect(json::Kind::Object);
  const json::Value* m = v_->find(key);
  if (!m) return std::nullopt;
  return JsonRef(doc_, m, path_.empty() ? key : path_ + "." + key);
}

JsonRef JsonRef::require(const std::string& key) const {
  auto r = get(key);
  if (!r) fail("missing required member '{}'", key);
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
    std::string p = path_.empty() ? k : path_ + "." + k;
    std::string hint = did_you_mean(k, known);
    throw Error(fmt::format("{}:{}:{}: {}: unknown attribute '{}' for {}{}{}", doc_->file, pos.line,
                            pos.col, p, k, what, hint.empty() ? "; known: " : hint,
                            hint.empty() ? join_names(known) : ""));
  }
}

JsonRef JsonRef::at(size_t i) const {
  expect(json::Kind::Array);
  return JsonRef(doc_, &v_->items[i], fmt::format("{}[{}]", path_, i));
}

std::string JsonRef::describe() const {
  switch (v_->kind) {
  case json::Kind::Number: return "got " + v_->text;
  case json::Kind::String: return "got \"" + v_->text + "\"";
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
