// The IDX reader on the fixtures of tests/fixtures/idx/make_fixtures.py (every element
// type, plain and gzip), on malformed files, and on the real Fashion-MNIST test set when
// the machine has it.
#include "runtime/idx.h"

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

namespace {

const std::string kDir = std::string(DLC_SOURCE_DIR) + "/tests/fixtures/idx/";

std::string error_of(const std::string& bytes) {
  try {
    dlc_rt::read_idx_bytes(bytes);
  } catch (const dlc_rt::FormatError& e) {
    return e.what();
  }
  return "";
}

bool exists(const std::string& path) { return std::ifstream(path).good(); }

} // namespace

TEST_CASE("idx: every element type, big-endian, converted to f32") {
  struct Case {
    const char* file;
    const char* dtype;
    std::vector<int64_t> shape;
    std::vector<float> data;
  };
  const Case cases[] = {
      {"u8_3x2x2.idx", "u8", {3, 2, 2}, {0, 22, 44, 66, 88, 110, 132, 154, 176, 198, 220, 255}},
      {"u8_3x2x2.idx.gz", "u8", {3, 2, 2}, {0, 22, 44, 66, 88, 110, 132, 154, 176, 198, 220, 255}},
      {"i8_5.idx", "i8", {5}, {-128, -1, 0, 1, 127}},
      {"i16_2x3.idx", "i16", {2, 3}, {-32768, -2, 0, 3, 300, 32767}},
      {"i32_4.idx.gz", "i32", {4}, {-2147483648.0f, -1, 65536, 2147483647.0f}},
      {"f32_2x2.idx", "f32", {2, 2}, {1.5f, -2.25f, 0.001f, 3.0e38f}},
      {"f64_3.idx", "f64", {3}, {0.1f, -2.5f, 1e10f}},
      {"scalar_u8.idx", "u8", {}, {42}},
      {"labels_10.idx.gz", "u8", {10}, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}}};
  for (const auto& c : cases) {
    INFO(std::string(c.file));
    dlc_rt::Array a = dlc_rt::read_idx(kDir + c.file);
    CHECK(a.dtype == c.dtype);
    CHECK(a.shape == c.shape);
    CHECK(a.data == c.data);
  }
}

TEST_CASE("idx: malformed files give clear errors") {
  std::string good = dlc_rt::read_file_bytes(kDir + "u8_3x2x2.idx");
  std::string bad = good;
  bad[0] = 1;
  CHECK(error_of(bad).find("bad magic") != std::string::npos);
  bad = good;
  bad[2] = 0x0A;
  CHECK(error_of(bad).find("unsupported IDX element type 0x0a") != std::string::npos);
  CHECK(error_of(good.substr(0, 3)).find("truncated IDX header") != std::string::npos);
  CHECK(error_of(good.substr(0, 10)).find("3 dimensions need 16 bytes") != std::string::npos);
  CHECK(error_of(good.substr(0, good.size() - 1))
            .find("truncated IDX data: shape [3,2,2] of u8 needs 12 bytes") != std::string::npos);
  CHECK(error_of(good + "x").find("overlong IDX data") != std::string::npos);
  bad = good; // extents whose product overflows
  for (int i = 4; i < 16; i++) bad[size_t(i)] = char(0xFF);
  CHECK(error_of(bad).find("too large") != std::string::npos);
  std::string gz = dlc_rt::read_file_bytes(kDir + "u8_3x2x2.idx.gz");
  CHECK(error_of(gz.substr(0, gz.size() - 3)).find("truncated gzip") != std::string::npos);
  gz[gz.size() - 6] = char(gz[gz.size() - 6] ^ 0x10);
  CHECK(error_of(gz).find("CRC mismatch") != std::string::npos);
}

TEST_CASE("idx: every truncation of a plain or gzip file is an error") {
  for (const char* name : {"u8_3x2x2.idx", "u8_3x2x2.idx.gz", "f64_3.idx"}) {
    std::string bytes = dlc_rt::read_file_bytes(kDir + name);
    for (size_t n = 0; n < bytes.size(); n++) {
      INFO(std::string(name), " cut to ", n, " bytes");
      CHECK_THROWS_AS(dlc_rt::read_idx_bytes(bytes.substr(0, n)), dlc_rt::FormatError);
    }
  }
}

TEST_CASE("idx: errors name the file") {
  try {
    dlc_rt::read_idx(kDir + "no_such_file.idx");
    FAIL("expected an error");
  } catch (const dlc_rt::FormatError& e) {
    CHECK(std::string(e.what()).find("no_such_file.idx: cannot open") != std::string::npos);
  }
}

TEST_CASE("idx: the Fashion-MNIST test set, when installed") {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  if (!exists(dir + "t10k-labels-idx1-ubyte.gz")) {
    MESSAGE("skipped: " << dir << " is absent (package dataset-fashion-mnist)");
    return;
  }
  dlc_rt::Array labels = dlc_rt::read_idx(dir + "t10k-labels-idx1-ubyte.gz");
  CHECK(labels.shape == std::vector<int64_t>{10000});
  // The first labels as Python's gzip module reads them.
  const std::vector<float> first = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0};
  CHECK(std::vector<float>(labels.data.begin(), labels.data.begin() + 20) == first);
  dlc_rt::Array images = dlc_rt::read_idx(dir + "t10k-images-idx3-ubyte.gz");
  CHECK(images.dtype == "u8");
  CHECK(images.shape == std::vector<int64_t>{10000, 28, 28});
  double first_image = 0, all = 0;
  for (size_t i = 0; i < images.data.size(); i++) {
    if (i < 784) first_image += images.data[i];
    all += images.data[i];
  }
  CHECK(first_image == 33456); // pixel sums from Python
  CHECK(all == 573469082);
}

TEST_CASE("idx: compressed data is inflated only as far as the header's shape needs") {
  // u8 [4], then 8 bytes: the header claims 4.
  std::string header("\0\0\x08\x01\0\0\0\x04", 8);
  auto gz = [](const std::string& data) {
    // One stored block; CRC-32 and length in the trailer.
    std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    size_t n = data.size();
    out += char(1), out += char(n & 0xFF), out += char(n >> 8), out += char(~n & 0xFF), out += char((~n >> 8) & 0xFF);
    out += data;
    uint32_t crc = dlc_rt::crc32(reinterpret_cast<const uint8_t*>(data.data()), n);
    for (uint32_t v : {crc, uint32_t(n)})
      for (int i = 0; i < 4; i++) out += char((v >> (8 * i)) & 0xFF);
    return out;
  };
  CHECK(dlc_rt::read_idx_bytes(gz(header + "abcd")).data.size() == 4);
  CHECK(error_of(gz(header + "abcdefgh")).find("overlong IDX data: shape [4] of u8 needs 4 bytes") != std::string::npos);
  CHECK(error_of(gz(header + "ab")).find("truncated IDX data") != std::string::npos);
  // A shape beyond the limit is refused before anything past the header is inflated.
  std::string huge("\0\0\x08\x02\x00\x10\x00\x00\x00\x10\x00\x00", 12); // [2^20, 2^20] u8: 1 TiB
  CHECK(error_of(gz(huge)).find("more than the limit") != std::string::npos);
  CHECK(error_of(huge).find("more than the limit") != std::string::npos);
}
