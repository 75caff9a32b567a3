#include "ir/attrs.h"

#include "ir/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dlc::ir {

const char* attr_kind_name(AttrKind k) {
  switch (k) {
  case AttrKind::Int: return "int";
  case AttrKind::Float: return "float";
  case AttrKind::String: return "string";
  case AttrKind::Ints: return "int list";
  case AttrKind::Bool: return "bool";
  }
  return "?";
}

AttrKind attr_kind_of(const Attr& a) { return AttrKind(a.index()); }

template <typename T>
static const T& get_as(const std::map<std::string, Attr>& m, const std::string& k,
                       AttrKind want) {
  auto it = m.find(k);
  if (it == m.end()) throw Error(fmt::format("missing attribute '{}'", k));
  if (auto* v = std::get_if<T>(&it->second)) return *v;
  throw Error(fmt::format("attribute '{}' should be {}, is {}", k, attr_kind_name(want),
                          attr_kind_name(attr_kind_of(it->second))));
}

int64_t Attrs::get_int(const std::string& k) const {
  return get_as<int64_t>(map_, k, AttrKind::Int);
}
double Attrs::get_float(const std::string& k) const {
  auto it = map_.find(k);
  if (it != map_.end())
    if (auto* i = std::get_if<int64_t>(&it->second)) return double(*i);
  return get_as<double>(map_, k, AttrKind::Float);
}
const std::string& Attrs::get_string(const std::string& k) const {
  return get_as<std::string>(map_, k, AttrKind::String);
}
const std::vector<int64_t>& Attrs::get_ints(const std::string& k) const {
  return get_as<std::vector<int64_t>>(map_, k, AttrKind::Ints);
}
bool Attrs::get_bool(const std::string& k) const { return get_as<bool>(map_, k, AttrKind::Bool); }

std::string attr_str(const Attr& a) {
  struct V {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    // Shortest text that reads back as the same double: two nodes whose attributes
    // differ never print alike.
    std::string operator()(double v) const { return fmt::format("{}", v); }
    std::string operator()(const std::string& v) const { return "\"" + v + "\""; }
    std::string operator()(const std::vector<int64_t>& v) const {
      return fmt::format("[{}]", fmt::join(v, ","));
    }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
  };
  return std::visit(V{}, a);
}

std::string Attrs::str() const {
  if (map_.empty()) return "";
  std::string s = "{";
  bool first = true;
  for (auto& [k, v] : map_) {
    if (!first) s += ", ";
    first = false;
    s += k + "=" + attr_str(v);
  }
  return s + "}";
}

} // namespace dlc::ir
