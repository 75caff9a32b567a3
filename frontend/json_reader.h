// Typed access to a parsed JSON document with errors that point into the file:
//   model.json:12:5: layers[2].units: expected a positive integer, got -3
#pragma once

#include "ir/error.h"
#include "runtime/json.h"

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dlc::frontend {

namespace json = dlc_rt::json;

// A parsed file: its name (for messages) and its root value.
struct JsonDoc {
  std::string file;
  json::Value root;
};

// Reads a file and parses it; malformed JSON throws "file:line:col: message".
std::shared_ptr<JsonDoc> load_json_file(const std::string& path);
std::shared_ptr<JsonDoc> parse_json_text(const std::string& text, const std::string& name);

// A view of one value inside a document, with its JSON path ("layers[2].units").
class JsonRef {
public:
  JsonRef(std::shared_ptr<const JsonDoc> doc, const json::Value* v, std::string path)
      : doc_(std::move(doc)), v_(v), path_(std::move(path)) {}

  const json::Value& value() const { return *v_; }
  const std::string& path() const { return path_; }
  json::Kind kind() const { return v_->kind; }
  bool is(json::Kind k) const { return v_->kind == k; }
  std::string location() const; // "file:line:col: path"

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    fail_at(location(), f, std::forward<Args>(args)...);
  }

  // Members of an object.
  bool has(const std::string& key) const { return v_->find(key) != nullptr; }
  std::optional<JsonRef> get(const std::string& key) const;
  JsonRef require(const std::string& key) const; // fails: "missing required member 'key'"
  // Rejects members not in `known`, suggesting the nearest known one.
  void expect_only(const std::vector<std::string>& known, const std::string& what) const;
  std::vector<std::string> keys() const;

  // Elements of an array.
  size_t size() const { return v_->items.size(); }
  JsonRef at(size_t i) const;

  // Conversions of this value; each fails with the expected kind and what was found.
  const JsonRef& expect(json::Kind k) const;
  std::string as_string() const;
  bool as_bool() const;
  double as_number() const;
  int64_t as_int() const;          // an integer
  int64_t as_positive_int() const; // > 0
  std::vector<int64_t> as_int_list() const; // an integer or a list of integers

  // Member shortcuts with defaults.
  std::string get_string(const std::string& key, const std::string& dflt) const;
  bool get_bool(const std::string& key, bool dflt) const;
  double get_number(const std::string& key, double dflt) const;
  int64_t get_positive_int(const std::string& key, int64_t dflt) const;

  // "got -3", "got \"abc\"", "got an object" — for messages.
  std::string describe() const;

private:
  std::shared_ptr<const JsonDoc> doc_;
  const json::Value* v_;
  std::string path_;
};

inline JsonRef root_of(const std::shared_ptr<JsonDoc>& doc) { return JsonRef(doc, &doc->root, ""); }

} // namespace dlc::frontend
