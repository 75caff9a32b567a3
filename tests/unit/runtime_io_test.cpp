// The runtime's readers and writers: JSON (runtime/json.h), NPY (runtime/npy.h) and
// safetensors (runtime/safetensors.h). Files are built byte by byte here, independently
// of the writers, so a reader and its writer cannot agree on the same mistake.
#include "runtime/json.h"
#include "runtime/npy.h"
#include "runtime/safetensors.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace dlc_rt;

namespace {

// Parses `text`, expecting a ParseError at line:col whose message contains `what`.
void expect_json_error(const std::string& text, int line, int col, const std::string& what) {
  CAPTURE(text);
  try {
    json::parse(text);
    FAIL("parsed without error");
  } catch (const json::ParseError& e) {
    CHECK(e.pos.line == line);
    CHECK(e.pos.col == col);
    CHECK_MESSAGE(std::string(e.what()).find(what) != std::string::npos, e.what());
  }
}

std::string json_string(const std::string& text) {
  json::Value v = json::parse(text);
  REQUIRE(v.kind == json::Kind::String);
  return v.text;
}

std::string le_bytes(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; i++) s += char((v >> (8 * i)) & 0xFF);
  return s;
}

template <typename T> std::string raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return s;
}

// An .npy file of format version `major` with the given header dictionary and data.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict + "\n";
  std::string out = "\x93NUMPY";
  out += char(major);
  out += char(0);
  out += le_bytes(header.size(), major == 1 ? 2 : 4);
  return out + header + data;
}

// A safetensors file: 8-byte little-endian header length, the header, the data.
std::string st_file(const std::string& header, const std::string& data) {
  return le_bytes(header.size(), 8) + header + data;
}

template <typename F> std::string format_error(F f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

// ---------------------------------------------------------------- JSON

TEST_CASE("json: values, member order and positions") {
  json::Value v = json::parse("{\n  \"b\": [1, 2.5, true, null],\n  \"a\": \"x\"\n}");
  REQUIRE(v.kind == json::Kind::Object);
  REQUIRE(v.members.size() == 2);
  CHECK(v.members[0].first == "b"); // source order, not sorted
  CHECK(v.members[1].first == "a");
  CHECK(v.key_pos[1].line == 3);
  CHECK(v.key_pos[1].col == 3);
  const json::Value* b = v.find("b");
  REQUIRE(b != nullptr);
  REQUIRE(b->items.size() == 4);
  CHECK(b->items[1].number == 2.5);
  CHECK(b->items[1].pos.line == 2);
  CHECK(b->items[1].pos.col == 12);
  CHECK(b->items[2].boolean);
  CHECK(b->items[3].kind == json::Kind::Null);
  CHECK(v.find("c") == nullptr);
}

TEST_CASE("json: syntax errors carry line:col") {
  // Line 3 is `  "b": }`: the '}' where a value belongs is column 8.
  expect_json_error("{\n  \"a\": 1,\n  \"b\": }", 3, 8, "expected a value, got '}'");
  expect_json_error("[1,2,]", 1, 6, "expected a value");
  expect_json_error("[1 2]", 1, 4, "expected ',' or ']'");
  expect_json_error("{\"a\" 1}", 1, 6, "expected ':'");
  expect_json_error("{1: 2}", 1, 2, "quoted member name");
  expect_json_error("", 1, 1, "unexpected end of input");
  expect_json_error("{} x", 1, 4, "unexpected text after");
  expect_json_error("[tru]", 1, 2, "expected a value");
  expect_json_error("\"abc", 1, 5, "unterminated string");
  expect_json_error("\"a\nb\"", 1, 3, "control character in string");
  // Columns count characters: the two bytes of 'é' are one column.
  expect_json_error("[\"\xC3\xA9\", x]", 1, 7, "expected a value, got 'x'");
  expect_json_error("[\xC3\xA9]", 1, 2, "non-ASCII character");
}

TEST_CASE("json: escapes and surrogate pairs") {
  CHECK(json_string(R"("\"\\\/\b\f\n\r\t")") == "\"\\/\b\f\n\r\t");
  CHECK(json_string(R"("\u0041\u00e9\u20AC")") == "A\xC3\xA9\xE2\x82\xAC");
  CHECK(json_string(R"("\uD83D\uDE00")") == "\xF0\x9F\x98\x80"); // U+1F600
  expect_json_error(R"("\uD83D")", 1, 8, "unpaired surrogate");
  expect_json_error(R"("\uD83D\u0041")", 1, 14, "invalid low surrogate");
  expect_json_error(R"("\uDE00")", 1, 8, "unpaired low surrogate");
  expect_json_error(R"("\x")", 1, 4, "invalid escape");
  expect_json_error(R"("\u12G4")", 1, 6, "invalid hex digit");
}

TEST_CASE("json: duplicate members are rejected at the second key") {
  expect_json_error("{\"a\": 1,\n \"a\": 2}", 2, 2, "duplicate member \"a\"");
  CHECK_NOTHROW(json::parse("{\"a\": {\"a\": 1}}")); // the same name in another object is fine
}

TEST_CASE("json: nesting is limited to 256 levels") {
  CHECK_NOTHROW(json::parse(std::string(256, '[') + std::string(256, ']')));
  expect_json_error(std::string(257, '['), 1, 257, "nesting deeper than 256");
  // Far deeper input fails the same way instead of exhausting the stack.
  expect_json_error(std::string(100000, '['), 1, 257, "nesting deeper");
}

TEST_CASE("json: numbers") {
  auto num = [](const std::string& t) { return json::parse(t); };
  CHECK(num("12").number == 12);
  CHECK(num("12").is_integer);
  CHECK(num("-0").is_integer);
  CHECK(num("1.5e3").number == 1500);
  CHECK_FALSE(num("1.5e3").is_integer);
  CHECK_FALSE(num("1e2").is_integer); // an exponent makes it a float, as in Python
  CHECK(num("-2.25E-2").number == doctest::Approx(-0.0225));
  CHECK(num("1e-400").number == 0); // underflow is harmless
  CHECK(num("12").text == "12");
  expect_json_error("01", 1, 2, "unexpected text after");
  expect_json_error("1.", 1, 3, "digit after '.'");
  expect_json_error("-", 1, 2, "digit after '-'");
  expect_json_error("1e", 1, 3, "digit in exponent");
  expect_json_error(".5", 1, 1, "expected a value");
  expect_json_error("+1", 1, 1, "expected a value");
  expect_json_error("[0, 1e400]", 1, 5, "out of range");
}

// ---------------------------------------------------------------- NPY

TEST_CASE("npy: write then read keeps shape and values") {
  for (auto shape : {std::vector<int64_t>{2, 3}, std::vector<int64_t>{3}, std::vector<int64_t>{}}) {
    Array a{shape, {}, "f32"};
    for (int64_t i = 0; i < a.numel(); i++) a.data.push_back(float(i) * 0.5f - 1);
    std::string bytes = npy_bytes(a);
    // Header (magic, version, length, dict) padded so the data starts 64-byte aligned.
    CHECK((bytes.size() - a.data.size() * 4) % 64 == 0);
    Array b = read_npy_bytes(bytes);
    CHECK(b.shape == a.shape);
    CHECK(b.data == a.data);
    CHECK(b.dtype == "f32");
  }
}

TEST_CASE("npy: file round trip") {
  auto path = std::filesystem::temp_directory_path() / "dlc_runtime_io_test.npy";
  Array a{{2, 2}, {1, -2, 3.5f, 1e-8f}, "f32"};
  {
    std::ofstream f(path, std::ios::binary);
    f << npy_bytes(a);
  }
  Array b = read_npy(path.string());
  std::filesystem::remove(path);
  CHECK(b.shape == a.shape);
  CHECK(b.data == a.data);
}

TEST_CASE("npy: reads what numpy writes, in each supported dtype") {
  // Headers as numpy formats them: spaces after commas, a trailing comma.
  Array f8 = read_npy_bytes(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }",
                                     raw<double>({0.25, -3})));
  CHECK(f8.shape == std::vector<int64_t>{2, 1});
  CHECK(f8.data == std::vector<float>{0.25f, -3});
  CHECK(f8.dtype == "f64");
  Array i8 = read_npy_bytes(npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                     raw<int64_t>({7, -1, 0})));
  CHECK(i8.data == std::vector<float>{7, -1, 0});
  Array i4 = read_npy_bytes(npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }",
                                     raw<int32_t>({-5})));
  CHECK(i4.data == std::vector<float>{-5});
  Array u1 = read_npy_bytes(
      npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", std::string("\xff\x01", 2)));
  CHECK(u1.data == std::vector<float>{255, 1});
  Array b1 = read_npy_bytes(
      npy_file("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", std::string("\x01\x00", 2)));
  CHECK(b1.data == std::vector<float>{1, 0});
  // Format version 2 has a 4-byte header length.
  Array v2 = read_npy_bytes(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                                     raw<float>({1.5f}), 2));
  CHECK(v2.data == std::vector<float>{1.5f});
}

TEST_CASE("npy: malformed and unsupported files") {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  std::string good = npy_file(dict, raw<float>({1, 2}));
  CHECK_NOTHROW(read_npy_bytes(good));
  CHECK(format_error([&] { read_npy_bytes("PK\x03\x04 this is a zip file"); }).find("bad magic") !=
        std::string::npos);
  CHECK(format_error([&] { read_npy_bytes(good.substr(0, 5)); }).find("bad magic") != std::string::npos);
  CHECK(format_error([&] { read_npy_bytes(good.substr(0, 30)); }).find("truncated .npy header") !=
        std::string::npos);
  std::string short_data = format_error([&] { read_npy_bytes(good.substr(0, good.size() - 1)); });
  CHECK(short_data.find("truncated .npy data") != std::string::npos);
  CHECK(short_data.find("needs 8 bytes, the file has 7") != std::string::npos);
  CHECK(format_error([&] {
          read_npy_bytes(npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                                  std::string(8, '\0')));
        }).find("unsupported npy dtype '<c8'") != std::string::npos);
  CHECK(format_error([&] {
          read_npy_bytes(npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                  std::string(4, '\0')));
        }).find("unsupported npy dtype") != std::string::npos);
  CHECK(format_error([&] {
          read_npy_bytes(npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                                  std::string(16, '\0')));
        }).find("Fortran-order") != std::string::npos);
  CHECK(format_error([&] { read_npy_bytes(npy_file(dict, raw<float>({1, 2}), 4)); })
            .find("unsupported .npy version 4") != std::string::npos);
  CHECK(format_error([&] {
          read_npy_bytes(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", ""));
        }).find("malformed") != std::string::npos);
  CHECK(format_error([&] { read_npy_bytes(npy_file("{'descr': '<f4', 'shape': (2,), }", "")); })
            .find("no 'fortran_order'") != std::string::npos);
  CHECK(format_error([&] {
          read_npy_bytes(npy_file(
              "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }", ""));
        }).find("too large") != std::string::npos);
}

// ---------------------------------------------------------------- safetensors

TEST_CASE("safetensors: write then read keeps tensors and metadata") {
  TensorMap in;
  in["b.bias"] = Array{{2}, {0.5f, -0.5f}, "F32"};
  in["a.kernel"] = Array{{2, 3}, {1, 2, 3, 4, 5, 6}, "F32"};
  std::string bytes = safetensors_bytes(in, {{"format", "dlc"}});
  uint64_t header_len = 0;
  for (int i = 0; i < 8; i++) header_len |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  CHECK(header_len % 8 == 0); // data starts 8-byte aligned
  CHECK(bytes.size() == 8 + header_len + 8 * 4);
  std::map<std::string, std::string> meta;
  TensorMap out = read_safetensors_bytes(bytes, &meta);
  REQUIRE(out.size() == 2);
  CHECK(out["a.kernel"].shape == std::vector<int64_t>{2, 3});
  CHECK(out["a.kernel"].data == in["a.kernel"].data);
  CHECK(out["b.bias"].data == in["b.bias"].data);
  CHECK(meta["format"] == "dlc");
}

TEST_CASE("safetensors: reads F32, F64, I32, I64, BF16 and F16 tensors written by hand") {
  // Offsets: f32 [0,4) f64 [4,12) i32 [12,16) i64 [16,24) bf16 [24,26) f16 [26,30).
  std::string header = R"({"__metadata__":{"format":"pt"},)"
                       R"("f32":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("f64":{"dtype":"F64","shape":[1],"data_offsets":[4,12]},)"
                       R"("i32":{"dtype":"I32","shape":[],"data_offsets":[12,16]},)"
                       R"("i64":{"dtype":"I64","shape":[1,1],"data_offsets":[16,24]},)"
                       R"("bf16":{"dtype":"BF16","shape":[1],"data_offsets":[24,26]},)"
                       R"("f16":{"dtype":"F16","shape":[2],"data_offsets":[26,30]}})";
  // bf16 0x3FC0 = 1.5; f16 0x3C00 = 1.0 and 0xC500 = -5.0.
  std::string data = raw<float>({2.5f}) + raw<double>({-0.125}) + raw<int32_t>({-7}) +
                     raw<int64_t>({1 << 20}) + raw<uint16_t>({0x3FC0}) + raw<uint16_t>({0x3C00, 0xC500});
  TensorMap t = read_safetensors_bytes(st_file(header, data));
  CHECK(t["f32"].data == std::vector<float>{2.5f});
  CHECK(t["f64"].data == std::vector<float>{-0.125f});
  CHECK(t["i32"].shape.empty());
  CHECK(t["i32"].data == std::vector<float>{-7});
  CHECK(t["i64"].shape == std::vector<int64_t>{1, 1});
  CHECK(t["i64"].data == std::vector<float>{1 << 20});
  CHECK(t["bf16"].data == std::vector<float>{1.5f});
  CHECK(t["f16"].data == std::vector<float>{1.0f, -5.0f});
  CHECK(t.count("__metadata__") == 0);
}

TEST_CASE("safetensors: malformed files name the problem") {
  auto err = [](const std::string& bytes) {
    return format_error([&] { read_safetensors_bytes(bytes); });
  };
  auto entry = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return R"({"w":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets +
           "}}";
  };
  std::string four = raw<float>({1, 2, 3, 4});
  CHECK_NOTHROW(read_safetensors_bytes(st_file(entry("F32", "[2,2]", "[0,16]"), four)));
  CHECK(err("\x05\0\0").find("no header length") != std::string::npos);
  CHECK(err(le_bytes(1000, 8) + "{}").find("header length 1000 exceeds the file") != std::string::npos);
  CHECK(err(le_bytes(~uint64_t(0), 8) + "{}").find("exceeds the file") != std::string::npos);
  CHECK(err(st_file("{\"w\": [1,", "")).find("not valid JSON") != std::string::npos);
  CHECK(err(st_file("[1]", "")).find("not a JSON object") != std::string::npos);
  CHECK(err(st_file(R"({"w":{"dtype":"F32","shape":[1]}})", four)).find("tensor 'w': header entry needs") !=
        std::string::npos);
  CHECK(err(st_file(entry("F32", "[2,2]", "[0,20]"), four)).find("lie outside the 16 data bytes") !=
        std::string::npos);
  CHECK(err(st_file(entry("F32", "[1]", "[8,4]"), four)).find("lie outside") != std::string::npos);
  CHECK(err(st_file(entry("F32", "[3]", "[0,16]"), four)).find("holds 16 bytes, shape [3] of F32 needs 12") !=
        std::string::npos);
  CHECK(err(st_file(entry("U8", "[4]", "[0,4]"), four)).find("unsupported dtype U8") != std::string::npos);
  CHECK(err(st_file(entry("F32", "[-1]", "[0,4]"), four)).find("shape is malformed") != std::string::npos);
  CHECK(err(st_file(entry("F32", "[2.5]", "[0,4]"), four)).find("shape is malformed") != std::string::npos);
  // Numbers too large for an integer are rejected, not cast (which would be undefined).
  CHECK(err(st_file(entry("F32", "[100000000000000000000000]", "[0,4]"), four)).find("shape is malformed") !=
        std::string::npos);
  CHECK(err(st_file(entry("F32", "[1]", "[0,100000000000000000000000]"), four))
            .find("data_offsets are malformed") != std::string::npos);
  CHECK(err(st_file(entry("F32", "[1000000,1000000,1000000]", "[0,4]"), four)).find("too large") !=
        std::string::npos);
  // A file cut short: the header promises 16 data bytes, 10 remain.
  std::string whole = st_file(entry("F32", "[2,2]", "[0,16]"), four);
  CHECK(err(whole.substr(0, whole.size() - 6)).find("truncated file?") != std::string::npos);
}

TEST_CASE("safetensors: the tensors must cover the data exactly") {
  auto err = [](const std::string& bytes) { return format_error([&] { read_safetensors_bytes(bytes); }); };
  std::string eight = raw<float>({1, 2}), twelve = raw<float>({1, 2, 3});
  auto two = [](const std::string& b_offsets) {
    return R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":)" +
           b_offsets + "}}";
  };
  CHECK_NOTHROW(read_safetensors_bytes(st_file(two("[4,8]"), eight)));
  CHECK(err(st_file(two("[8,12]"), twelve)).find("a gap of 4 bytes before tensor 'b'") != std::string::npos);
  CHECK(err(st_file(two("[0,4]"), eight)).find("tensor 'b' overlaps the tensor before it") != std::string::npos);
  CHECK(err(st_file(two("[4,8]"), twelve)).find("4 data bytes after the last tensor belong to none") !=
        std::string::npos);
}

TEST_CASE("safetensors: the checksum covers every byte of a file dlc wrote") {
  TensorMap in;
  in["w"] = Array{{3}, {1.0f, -2.0f, 0.25f}, "F32"};
  std::string bytes = safetensors_bytes(in, {{"model", "m"}});
  std::map<std::string, std::string> meta;
  read_safetensors_bytes(bytes, &meta);
  REQUIRE(meta.count("crc32") == 1);
  CHECK(meta["crc32"].size() == 8);
  // The checksum is the CRC-32 of the file with its own digits read as zeros.
  std::string zeroed = bytes;
  size_t at = zeroed.find("\"crc32\":\"") + 9;
  zeroed.replace(at, 8, "00000000");
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc32(reinterpret_cast<const uint8_t*>(zeroed.data()), zeroed.size()));
  CHECK(meta["crc32"] == hex);
  // Any changed bit, in the header or the data, is reported.
  for (size_t i : {size_t(0) + 20, bytes.size() / 2, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[i] = char(bad[i] ^ 0x04);
    CAPTURE(i);
    CHECK_THROWS_AS(read_safetensors_bytes(bad), FormatError);
  }
  std::string last = bytes;
  last.back() = char(last.back() ^ 1);
  CHECK(format_error([&] { read_safetensors_bytes(last); }).find("checksum mismatch") != std::string::npos);
  // Files without the entry (written by other tools) are read as before.
  CHECK_NOTHROW(read_safetensors_bytes(st_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                               raw<float>({1}))));
}

TEST_CASE("npy: data beyond the shape is an error") {
  Array a{{2}, {1.0f, 2.0f}, "f32"};
  std::string bytes = npy_bytes(a);
  CHECK_NOTHROW(read_npy_bytes(bytes));
  CHECK(format_error([&] { read_npy_bytes(bytes + "xxxx"); }).find("overlong .npy data") != std::string::npos);
  CHECK(format_error([&] { read_npy_bytes(bytes.substr(0, bytes.size() - 1)); }).find("truncated .npy data") !=
        std::string::npos);
}
