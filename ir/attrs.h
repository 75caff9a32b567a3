// Node attributes: a small ordered map from name to a typed value.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace dlc::ir {

using Attr = std::variant<int64_t, double, std::string, std::vector<int64_t>, bool>;

enum class AttrKind { Int, Float, String, Ints, Bool };
const char* attr_kind_name(AttrKind k);
AttrKind attr_kind_of(const Attr& a);

class Attrs {
public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<const std::string, Attr>> init) : map_(init) {}

  bool has(const std::string& k) const { return map_.count(k) != 0; }
  void set(const std::string& k, Attr v) { map_[k] = std::move(v); }
  const std::map<std::string, Attr>& all() const { return map_; }

  // Accessors throw dlc::Error naming the attribute if it is missing or mistyped.
  int64_t get_int(const std::string& k) const;
  double get_float(const std::string& k) const; // an Int attribute converts
  const std::string& get_string(const std::string& k) const;
  const std::vector<int64_t>& get_ints(const std::string& k) const;
  bool get_bool(const std::string& k) const;

  int64_t get_int(const std::string& k, int64_t dflt) const { return has(k) ? get_int(k) : dflt; }
  double get_float(const std::string& k, double dflt) const {
    return has(k) ? get_float(k) : dflt;
  }
  bool get_bool(const std::string& k, bool dflt) const { return has(k) ? get_bool(k) : dflt; }

  bool operator==(const Attrs& o) const { return map_ == o.map_; }
  std::string str() const; // "{axis=1, stride=[2,2]}" or "" when empty

private:
  std::map<std::string, Attr> map_;
};

std::string attr_str(const Attr& a);

} // namespace dlc::ir
