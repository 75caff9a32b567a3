// The DEFLATE/gzip decoder: fixtures written by Python's gzip/zlib
// (tests/fixtures/idx/make_fixtures.py) with each block type and header field, every
// truncation and every single-bit corruption of them (an error or the right data, never
// a crash or a wrong result), and hand-made hostile streams.
#include "runtime/inflate.h"
#include "runtime/npy.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

std::string fixture(const std::string& name) {
  return dlc_rt::read_file_bytes(std::string(DLC_SOURCE_DIR) + "/tests/fixtures/idx/" + name);
}

// The generators of make_fixtures.py: x <- (x*1103515245 + 12345) mod 2^31.
std::vector<unsigned> lcg(size_t n, uint64_t seed) {
  std::vector<unsigned> out;
  for (uint64_t x = seed; out.size() < n;) {
    x = (x * 1103515245u + 12345u) % (uint64_t(1) << 31);
    out.push_back(unsigned((x >> 16) & 0x7FFF));
  }
  return out;
}
std::string text(size_t n) {
  std::string s;
  for (unsigned v : lcg(n, 1)) s += "abcdefgh "[v % 9];
  return s;
}
std::string noise(size_t n) {
  std::string s;
  for (unsigned v : lcg(n, 2)) s += char(v & 0xFF);
  return s;
}

std::string error_of(const std::string& gz, uint64_t limit = dlc_rt::kDefaultInflateLimit) {
  try {
    dlc_rt::gunzip(gz, limit);
  } catch (const dlc_rt::FormatError& e) {
    return e.what();
  }
  return "";
}

std::string raw_error(const std::vector<uint8_t>& data) {
  std::string out;
  try {
    dlc_rt::inflate_raw(data.data(), data.size(), out);
  } catch (const dlc_rt::FormatError& e) {
    return e.what();
  }
  return "";
}

// Packs bits least-significant first, as DEFLATE reads them.
struct BitWriter {
  std::vector<uint8_t> bytes;
  int used = 8;
  void put(unsigned value, int n) {
    for (int i = 0; i < n; i++) {
      if (used == 8) bytes.push_back(0), used = 0;
      bytes.back() = uint8_t(bytes.back() | (((value >> i) & 1) << used++));
    }
  }
  void put_code(unsigned code, int n) { // Huffman codes go most-significant bit first
    for (int i = n - 1; i >= 0; i--) put((code >> i) & 1, 1);
  }
};

} // namespace

TEST_CASE("crc32 of the standard check string") {
  const std::string s = "123456789";
  CHECK(dlc_rt::crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size()) == 0xCBF43926u);
  CHECK(dlc_rt::crc32(nullptr, 0) == 0u);
}

TEST_CASE("gunzip: stored, fixed and dynamic blocks") {
  struct Case {
    const char* file;
    std::string want;
    int64_t dlc_rt::InflateStats::*kind;
  };
  for (const auto& c : {Case{"stored.gz", noise(3000), &dlc_rt::InflateStats::stored},
                        Case{"fixed.gz", "hello, hello, hello world\n", &dlc_rt::InflateStats::fixed},
                        Case{"dynamic.gz", text(4000), &dlc_rt::InflateStats::dynamic}}) {
    INFO(std::string(c.file));
    dlc_rt::InflateStats stats;
    std::string gz = fixture(c.file);
    CHECK(dlc_rt::is_gzip(gz));
    CHECK(dlc_rt::gunzip(gz, dlc_rt::kDefaultInflateLimit, &stats) == c.want);
    CHECK(stats.*c.kind >= 1);
    CHECK(stats.stored + stats.fixed + stats.dynamic == stats.*c.kind);
  }
}

TEST_CASE("gunzip: several members, and every optional header field") {
  CHECK(dlc_rt::gunzip(fixture("two_members.gz")) == "first member\n" + text(500));
  CHECK(dlc_rt::gunzip(fixture("all_header_fields.gz")) == text(300));
}

TEST_CASE("gunzip: every truncation is an error") {
  for (const char* name : {"stored.gz", "fixed.gz", "dynamic.gz", "all_header_fields.gz"}) {
    std::string gz = fixture(name);
    for (size_t n = 0; n < gz.size(); n++) {
      INFO(std::string(name), " cut to ", n, " bytes");
      CHECK_THROWS_AS(dlc_rt::gunzip(gz.substr(0, n)), dlc_rt::FormatError);
    }
  }
}

TEST_CASE("gunzip: single-bit corruptions of every byte give an error or the original data") {
  // Undetectable by design: the FTEXT flag, MTIME, XFL and OS (unless FHCRC covers the
  // header), the last byte's padding bits, and back-references that a flip redirects to
  // equal bytes. Whatever decodes must be the original data.
  for (const char* name : {"fixed.gz", "dynamic.gz", "all_header_fields.gz", "two_members.gz"}) {
    std::string gz = fixture(name), want = dlc_rt::gunzip(gz);
    const int members = name == std::string("two_members.gz") ? 2 : 1;
    int silent = 0;
    for (size_t i = 0; i < gz.size(); i++)
      for (int bit : {int(i % 8), int((i + 3) % 8)}) { // two of each byte's bits, in turn
        std::string bad = gz;
        bad[i] = char(bad[i] ^ (1 << bit));
        try {
          std::string got = dlc_rt::gunzip(bad);
          REQUIRE(got == want);
          silent++;
        } catch (const dlc_rt::FormatError&) {
        }
      }
    INFO(std::string(name));
    CHECK(silent <= members * (1 + 6 * 8 + 7) + 8);
  }
}

TEST_CASE("gunzip: clear messages for bad magic, CRC, length, flags, trailing data, limit") {
  std::string gz = fixture("fixed.gz");
  auto flip = [&](size_t at) {
    std::string bad = gz;
    bad[at] = char(bad[at] ^ 1);
    return bad;
  };
  CHECK(error_of(flip(0)).find("bad magic") != std::string::npos);
  CHECK(error_of(flip(2)).find("compression method") != std::string::npos);
  CHECK(error_of(flip(gz.size() - 8)).find("CRC mismatch") != std::string::npos);
  CHECK(error_of(flip(gz.size() - 4)).find("length mismatch") != std::string::npos);
  std::string reserved = gz;
  reserved[3] = char(0x20);
  CHECK(error_of(reserved).find("reserved flags") != std::string::npos);
  CHECK(error_of(gz + "xyz").find("3 unexpected bytes") != std::string::npos);
  CHECK(error_of(fixture("dynamic.gz"), 1000).find("limit of 1000 bytes") != std::string::npos);
  CHECK(dlc_rt::gunzip(fixture("dynamic.gz"), 4000).size() == 4000); // exactly at the limit
  CHECK(error_of("").find("truncated") != std::string::npos);
}

TEST_CASE("inflate_raw: hostile streams are errors") {
  CHECK(raw_error({}).find("truncated") != std::string::npos);
  CHECK(raw_error({0x07}).find("block type 3") != std::string::npos);
  CHECK(raw_error({0x01, 0x05, 0x00, 0x00, 0x00}).find("stored block length") != std::string::npos);
  CHECK(raw_error({0x01, 0x05, 0x00, 0xFA, 0xFF, 'a'}).find("truncated") != std::string::npos);

  BitWriter far; // fixed block whose first symbol copies from before the start
  far.put(1, 1);
  far.put(1, 2);
  far.put_code(0x01, 7); // length code 257: 3 bytes
  far.put_code(0, 5);    // distance code 0: 1 byte back, with nothing decoded yet
  CHECK(raw_error(far.bytes).find("before the start") != std::string::npos);

  BitWriter bad_dist; // fixed block using distance code 30, which does not exist
  bad_dist.put(1, 1);
  bad_dist.put(1, 2);
  bad_dist.put_code(0x30 + 'a', 8); // literal 'a'
  bad_dist.put_code(0x01, 7);
  bad_dist.put_code(30, 5);
  CHECK(raw_error(bad_dist.bytes).find("invalid") != std::string::npos);

  BitWriter over; // dynamic block whose code-length code is over-subscribed
  over.put(1, 1);
  over.put(2, 2);
  over.put(0, 5), over.put(0, 5), over.put(15, 4); // 257 literals, 1 distance, 19 lengths
  for (int i = 0; i < 19; i++) over.put(1, 3);     // 19 codes of one bit
  CHECK(raw_error(over.bytes).find("code-length code") != std::string::npos);

  BitWriter no_eob; // dynamic block whose literal code lacks the end-of-block symbol
  no_eob.put(1, 1);
  no_eob.put(2, 2);
  no_eob.put(0, 5), no_eob.put(0, 5), no_eob.put(14, 4); // 18 code-length codes
  // Code-length code: symbols 18 and 0 with one bit each (order 16,17,18,0,...).
  const int lens[18] = {0, 0, 1, 1};
  for (int l : lens) no_eob.put(unsigned(l), 3);
  // Canonical codes: symbol 0 -> "0", symbol 18 -> "1". 258 zeros: 138 + 120 via code 18.
  no_eob.put_code(1, 1), no_eob.put(127, 7);
  no_eob.put_code(1, 1), no_eob.put(109, 7);
  CHECK(raw_error(no_eob.bytes).find("end-of-block") != std::string::npos);
}

namespace {

// One gzip member holding `data` in stored blocks (no compression).
std::string stored_member(const std::string& data) {
  std::string out = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  size_t at = 0;
  do {
    size_t n = std::min<size_t>(data.size() - at, 65535);
    out += char(at + n == data.size() ? 1 : 0);
    out += char(n & 0xFF), out += char(n >> 8), out += char(~n & 0xFF), out += char((~n >> 8) & 0xFF);
    out += data.substr(at, n);
    at += n;
  } while (at < data.size());
  uint32_t crc = dlc_rt::crc32(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  for (uint32_t v : {crc, uint32_t(data.size())})
    for (int i = 0; i < 4; i++) out += char((v >> (8 * i)) & 0xFF);
  return out;
}

} // namespace

TEST_CASE("gunzip: a back-reference may not reach into an earlier member (found by fuzz_idx)") {
  // Member 1 stores "abcdefgh"; member 2 is one fixed-Huffman match of length 8 at
  // distance 8, which only the first member's output could satisfy. zlib rejects it.
  std::string file = dlc_rt::read_file_bytes(std::string(DLC_SOURCE_DIR) +
                                             "/fuzz/corpus/idx/regress_cross_member_backref.gz");
  CHECK(error_of(file).find("before the start") != std::string::npos);
  // The same match inside one member is fine.
  BitWriter w;
  w.put(1, 1);
  w.put(1, 2);
  for (char c : std::string("ab")) w.put_code(0x30 + unsigned(char(c)), 8);
  w.put_code(0x02, 7); // length code 258: 4 bytes
  w.put_code(1, 5);    // distance code 1: 2 back
  w.put_code(0, 7);    // end of block
  std::string out;
  dlc_rt::inflate_raw(w.bytes.data(), w.bytes.size(), out);
  CHECK(out == "ababab");
}

TEST_CASE("gunzip_prefix: the first bytes without inflating the rest") {
  std::string data = text(200000);
  std::string gz = stored_member(data);
  CHECK(dlc_rt::gunzip_prefix(gz, 10) == data.substr(0, 10));
  CHECK(dlc_rt::gunzip_prefix(stored_member("abc"), 10) == "abc");
  CHECK_THROWS_AS(dlc_rt::gunzip_prefix("\x1f\x8b\x09", 4), dlc_rt::FormatError);
  // The limit error keeps what was decoded, so a caller can tell "longer" from "corrupt".
  std::string partial;
  CHECK_THROWS_AS(dlc_rt::gunzip_into(gz, partial, 70000), dlc_rt::InflateLimitError);
  CHECK(partial == data.substr(0, partial.size()));
}
