// Fuzzes runtime/idx.h and runtime/inflate.h.
//
// 1. dlc_rt::read_idx_bytes(input, 16 MiB limit) must return an array or throw
//    dlc_rt::FormatError.
// 2. dlc_rt::gunzip is checked against zlib (the reference) with the same 16 MiB output
//    cap. zlib's reading, as this harness defines it: inflate() with windowBits 16+15 on
//    the first member; after each Z_STREAM_END, inflateReset() and the next member starts
//    at the next input byte; the input is accepted when the last member ends exactly at
//    the input's end and the total output is at most the cap. Then:
//      - dlc accepts  <=>  zlib accepts, and
//      - when both accept, the outputs are byte-identical.
//    No divergence is tolerated; the cases where one might expect one, and why they agree:
//      - empty input, or a lone partial header: both reject (dlc needs at least one
//        member; zlib runs out of input before Z_STREAM_END);
//      - anything after a member that is not another complete member (garbage, zero
//        padding that gzip(1) skips with a warning, a truncated member): both reject;
//      - the cap bounds the total over all members; exactly `cap` bytes are accepted,
//        one more is rejected, even if the input is otherwise corrupt further on;
//      - CRC-32, ISIZE (mod 2^32) and FHCRC mismatches, reserved flags, a method other
//        than 8: both reject;
//      - incomplete Huffman codes: both accept only a single one-bit code, for the
//        literal/length and for the distance code; an empty distance code is accepted
//        until a distance is used;
//      - back-references: zlib resets its window at each member (RFC 1952 members are
//        independent deflate streams), so a distance reaching into an earlier member's
//        output is rejected. dlc must reject it as well.
//    Which error each reports, and at which byte, is not compared.
//    Random mutations almost never keep a member's CRC right, so the check also runs on
//    two repaired copies of the input, whose members get the right CRC-32, ISIZE and
//    header CRC for what one side decoded: zlib's reading (inflateValidate(0) finds each
//    member's extent and output), and dlc's (inflate_raw on each member's deflate data).
//    A divergence in either direction then shows up even where the decoded bytes differ.
// 3. dlc_rt::inflate_raw against zlib's raw inflate (windowBits -15) on the deflate data
//    (the input after its first gzip header, or the whole input when it is not gzip):
//    both accept or both reject, and when both accept they used the same number of input
//    bytes and produced the same output.
#include "fuzz/fuzz_common.h"
#include "runtime/idx.h"
#include "runtime/inflate.h"

#include <cstddef>
#include <cstdint>
#include <vector>
#include <zlib.h>

namespace {

constexpr uint64_t kCap = uint64_t(1) << 24;

struct Member {
  size_t start, end;         // input bytes, header to trailer
  size_t out_start, out_end; // its output
};

// Runs inflate until it stops; false if the output would pass kCap or no stream end came.
bool zlib_stream(z_stream& s, std::string& out, int& ret) {
  for (;;) {
    unsigned char buf[1 << 14];
    s.next_out = buf;
    s.avail_out = sizeof buf;
    ret = inflate(&s, Z_NO_FLUSH);
    if (ret == Z_MEM_ERROR || ret == Z_STREAM_ERROR) dlc_fuzz::fail("zlib failed internally");
    size_t got = sizeof buf - s.avail_out;
    if (out.size() + got > kCap) return false;
    out.append(reinterpret_cast<const char*>(buf), got);
    if (ret != Z_OK) return ret == Z_STREAM_END;
  }
}

// zlib's reading of `in` as gzip members (see above). With check == false, CRCs and
// lengths are not checked and `members` receives every member zlib decoded.
bool zlib_gunzip(const std::string& in, bool check, std::string& out,
                 std::vector<Member>* members) {
  z_stream s{};
  if (inflateInit2(&s, 16 + 15) != Z_OK) dlc_fuzz::fail("inflateInit2 failed");
  if (!check) inflateValidate(&s, 0);
  out.clear();
  size_t pos = 0;
  bool ok = false;
  for (;;) {
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
    s.avail_in = uInt(in.size() - pos);
    size_t out_start = out.size();
    int ret;
    if (!zlib_stream(s, out, ret)) break;
    size_t end = in.size() - s.avail_in;
    if (members) members->push_back({pos, end, out_start, out.size()});
    pos = end;
    if (pos == in.size()) {
      ok = true;
      break;
    }
    inflateReset(&s);
  }
  inflateEnd(&s);
  return ok;
}

// Where the deflate data of the gzip member at `p` starts, or npos without a whole header.
size_t header_end(const std::string& s, size_t p) {
  const auto* b = reinterpret_cast<const uint8_t*>(s.data());
  if (s.size() - p < 10 || b[p] != 0x1f || b[p + 1] != 0x8b) return std::string::npos;
  uint8_t flags = b[p + 3];
  size_t q = p + 10;
  if (flags & 4) {
    if (s.size() - q < 2) return std::string::npos;
    size_t xlen = b[q] | (size_t(b[q + 1]) << 8);
    q += 2;
    if (s.size() - q < xlen) return std::string::npos;
    q += xlen;
  }
  for (uint8_t f : {uint8_t(8), uint8_t(16)})
    if (flags & f) {
      size_t z = s.find('\0', q);
      if (z == std::string::npos) return std::string::npos;
      q = z + 1;
    }
  if (flags & 2) {
    if (s.size() - q < 2) return std::string::npos;
    q += 2;
  }
  return q;
}

void put_le(std::string& s, size_t at, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    s[at + size_t(i)] = char((v >> (8 * i)) & 0xFF);
}

void compare_gzip(const std::string& in, const char* what) {
  std::string d, z;
  bool dok = true;
  try {
    d = dlc_rt::gunzip(in, kCap);
  } catch (const dlc_rt::FormatError&) {
    dok = false;
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  bool zok = zlib_gunzip(in, true, z, nullptr);
  if (dok != zok)
    dlc_fuzz::fail(std::string("gunzip differs from zlib on the ") + what + " input: dlc " +
                   (dok ? "accepts" : "rejects") + " it, zlib " + (zok ? "accepts" : "rejects") +
                   " it");
  if (dok && d != z)
    dlc_fuzz::fail(std::string("gunzip and zlib decode the ") + what + " input differently (" +
                   std::to_string(d.size()) + " vs " + std::to_string(z.size()) + " bytes)");
}

// Gives the member at [start, end) of `r` (a copy of `in`) the CRC-32, ISIZE and header CRC
// of `out`, its decoded data.
void patch_member(std::string& r, const std::string& in, size_t start, size_t end,
                  const std::string& out) {
  put_le(r, end - 8,
         uint32_t(crc32(0, reinterpret_cast<const Bytef*>(out.data()), uInt(out.size()))), 4);
  put_le(r, end - 4, uint32_t(out.size()), 4);
  if (uint8_t(in[start + 3]) & 2) {
    size_t h = header_end(in, start);
    uint32_t hcrc =
        uint32_t(crc32(0, reinterpret_cast<const Bytef*>(in.data()) + start, uInt(h - 2 - start)));
    put_le(r, h - 2, hcrc & 0xFFFF, 2);
  }
}

// The input with its members' checks made right for what zlib decodes.
std::string repaired_for_zlib(const std::string& in) {
  std::string z, r = in;
  std::vector<Member> members;
  zlib_gunzip(in, false, z, &members);
  for (const Member& m : members)
    patch_member(r, in, m.start, m.end, z.substr(m.out_start, m.out_end - m.out_start));
  return r;
}

// The same for what dlc decodes: its inflate_raw on each member's deflate data, appending
// to one output as gunzip does.
std::string repaired_for_dlc(const std::string& in) {
  std::string out, r = in;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t body = header_end(in, pos), used = 0, out_start = out.size();
    if (body == std::string::npos) break;
    try {
      used = dlc_rt::inflate_raw(reinterpret_cast<const uint8_t*>(in.data()) + body,
                                 in.size() - body, out, kCap);
    } catch (const dlc_rt::FormatError&) {
      break;
    } catch (...) {
      dlc_fuzz::unexpected_exception();
    }
    if (in.size() - body - used < 8) break;
    size_t end = body + used + 8;
    patch_member(r, in, pos, end, out.substr(out_start));
    pos = end;
  }
  return r;
}

void compare_raw(const std::string& in, size_t from) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data()) + from;
  const size_t n = in.size() - from;
  std::string d, z;
  size_t dused = 0;
  bool dok = true;
  try {
    dused = dlc_rt::inflate_raw(p, n, d, kCap);
  } catch (const dlc_rt::FormatError&) {
    dok = false;
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  z_stream s{};
  if (inflateInit2(&s, -15) != Z_OK) dlc_fuzz::fail("inflateInit2 failed");
  s.next_in = const_cast<Bytef*>(p);
  s.avail_in = uInt(n);
  int ret;
  bool zok = zlib_stream(s, z, ret);
  size_t zused = n - s.avail_in;
  inflateEnd(&s);
  if (dok != zok)
    dlc_fuzz::fail(std::string("inflate_raw differs from zlib: dlc ") +
                   (dok ? "accepts" : "rejects") + " the deflate data, zlib " +
                   (zok ? "accepts" : "rejects") + " it");
  if (dok && (d != z || dused != zused))
    dlc_fuzz::fail("inflate_raw and zlib decode the deflate data differently (" +
                   std::to_string(d.size()) + " vs " + std::to_string(z.size()) + " bytes out, " +
                   std::to_string(dused) + " vs " + std::to_string(zused) + " bytes in)");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  try {
    dlc_rt::Array a = dlc_rt::read_idx_bytes(in, kCap);
    if (a.data.size() != size_t(a.numel()))
      dlc_fuzz::fail("idx: element count does not match the shape");
  } catch (const dlc_rt::FormatError&) {
  } catch (...) {
    dlc_fuzz::unexpected_exception();
  }
  compare_gzip(in, "given");
  std::string for_zlib = repaired_for_zlib(in), for_dlc = repaired_for_dlc(in);
  if (for_zlib != in) compare_gzip(for_zlib, "repaired (zlib's reading)");
  if (for_dlc != in && for_dlc != for_zlib) compare_gzip(for_dlc, "repaired (dlc's reading)");
  size_t body = dlc_rt::is_gzip(in) ? header_end(in, 0) : 0;
  if (body != std::string::npos) compare_raw(in, body);
  return 0;
}
