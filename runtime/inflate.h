// DEFLATE (RFC 1951) and gzip (RFC 1952) decompression, written from the RFCs so that the
// runtime needs no zlib. Decodes stored, fixed-Huffman and dynamic-Huffman blocks;
// checks each gzip member's header, CRC-32 and length; concatenated members decode to
// the concatenation of their data.
//
// Hostile input is expected: every read is bounds-checked (never past the input), every
// loop consumes input or produces bounded output, Huffman codes must be valid (not
// over-subscribed; incomplete only where RFC 1951 allows a single one-bit code), back
// references must stay within the output, and the output has a size limit. Every
// failure is a FormatError saying what is wrong.
//
// Decoding uses a 10-bit lookup table per Huffman code and a canonical bit-by-bit walk
// (as in zlib's puff.c) for longer codes.
#pragma once

#include "runtime/array.h"
#include "runtime/crc32.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace dlc_rt {

struct InflateStats { // blocks decoded, by type (tests check that each type was seen)
  int64_t stored = 0, fixed = 0, dynamic = 0;
};

constexpr uint64_t kDefaultInflateLimit = uint64_t(1) << 32; // 4 GiB

// Thrown when the decompressed data would exceed the caller's limit (a FormatError, so
// that callers who do not care see one error type).
struct InflateLimitError : FormatError {
  using FormatError::FormatError;
};

namespace inflate_detail {

[[noreturn]] inline void fail(const std::string& what) { throw FormatError(what); }

// Reads bits least-significant first, as DEFLATE packs them.
class BitReader {
public:
  BitReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  // The next k <= 32 bits, zero-padded past the end of the input (consume() checks).
  uint32_t peek(int k) {
    if (bits_ < k) refill();
    return uint32_t(buf_ & ((uint64_t(1) << k) - 1));
  }
  void consume(int k) {
    if (k > bits_) fail("truncated deflate data");
    buf_ >>= k;
    bits_ -= k;
  }
  uint32_t bits(int k) {
    uint32_t v = peek(k);
    consume(k);
    return v;
  }
  // Drops the bits of a partial byte; afterwards reads continue from a byte boundary.
  void align() {
    consume(bits_ % 8);
    pos_ -= size_t(bits_ / 8); // give whole buffered bytes back to the byte stream
    buf_ = 0;
    bits_ = 0;
  }
  // Byte-level access after align().
  size_t pos() const { return pos_ - size_t(bits_ / 8); }
  size_t remaining() const { return size_ - pos_; }
  const uint8_t* here() const { return data_ + pos_; }
  void skip(size_t n) { pos_ += n; }

private:
  // Tops the buffer up to at least 56 bits while input lasts.
  void refill() {
    if (size_ - pos_ >= 8) { // one 8-byte little-endian read (compilers emit a single load)
      const uint8_t* q = data_ + pos_;
      uint64_t v = 0;
      for (int i = 0; i < 8; i++) v |= uint64_t(q[i]) << (8 * i);
      buf_ |= v << bits_;
      pos_ += size_t(63 - bits_) / 8;
      bits_ |= 56;
      return;
    }
    while (bits_ <= 56 && pos_ < size_) {
      buf_ |= uint64_t(data_[pos_++]) << bits_;
      bits_ += 8;
    }
  }

  const uint8_t* data_;
  size_t size_, pos_ = 0;
  uint64_t buf_ = 0;
  int bits_ = 0;
};

// A canonical Huffman code (RFC 1951 3.2.2) over up to 288 symbols.
class Huffman {
public:
  static constexpr int kMaxBits = 15, kFastBits = 10;

  // Builds the code from code lengths (0 = unused). Returns 0 for a complete code, > 0
  // for an incomplete one, < 0 for an over-subscribed one.
  int build(const uint8_t* lengths, int n) {
    std::memset(count_, 0, sizeof count_);
    std::memset(fast_, 0, sizeof fast_);
    for (int s = 0; s < n; s++) count_[lengths[s]]++;
    n_ = n;
    if (count_[0] == n) return 0; // no codes: decoding anything will fail
    int left = 1;
    for (int len = 1; len <= kMaxBits; len++) {
      left = 2 * left - count_[len];
      if (left < 0) return left;
    }
    int offs[kMaxBits + 2] = {0};
    for (int len = 1; len <= kMaxBits; len++) offs[len + 1] = offs[len] + count_[len];
    for (int s = 0; s < n; s++)
      if (lengths[s]) symbol_[offs[lengths[s]]++] = uint16_t(s);
    fill_fast_table();
    return left;
  }

  bool single_one_bit_code() const { return n_ - count_[0] == count_[1] && count_[1] == 1; }

  int decode(BitReader& in) const {
    uint32_t v = in.peek(kMaxBits);
    uint16_t e = fast_[v & ((1u << kFastBits) - 1)];
    if (e) {
      in.consume(e >> 9);
      return e & 511;
    }
    int code = 0, first = 0, index = 0; // canonical walk, one bit at a time
    for (int len = 1; len <= kMaxBits; len++) {
      code |= int((v >> (len - 1)) & 1);
      int c = count_[len];
      if (code - c < first) {
        in.consume(len);
        return symbol_[index + code - first];
      }
      index += c;
      first = (first + c) << 1;
      code <<= 1;
    }
    fail("invalid Huffman code in deflate data");
  }

private:
  // fast_[bits] = (length << 9) | symbol for every code of at most kFastBits bits, indexed
  // by its bit-reversed code padded with every combination of the following bits.
  void fill_fast_table() {
    int code = 0, index = 0;
    for (int len = 1; len <= kFastBits; len++, code <<= 1)
      for (int i = 0; i < count_[len]; i++, code++, index++) {
        int rev = 0;
        for (int b = 0; b < len; b++) rev |= ((code >> b) & 1) << (len - 1 - b);
        for (int f = rev; f < (1 << kFastBits); f += 1 << len)
          fast_[f] = uint16_t((len << 9) | symbol_[index]);
      }
  }

  int n_ = 0;
  uint16_t count_[kMaxBits + 1] = {};
  uint16_t symbol_[288] = {};
  uint16_t fast_[1 << kFastBits] = {};
};

// The decoded bytes: a string grown geometrically (never past the limit) and written
// through a pointer, trimmed to `size` when decoding ends.
class Output {
public:
  Output(std::string& s, uint64_t limit) : s_(s), start_(s.size()), size_(s.size()), limit_(limit) {}
  ~Output() { s_.resize(size_); }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  size_t size() const { return size_; }
  // Where this stream's output starts in the string: back-references may not reach
  // before it (into an earlier gzip member, whose stream is independent).
  size_t start() const { return start_; }
  size_t capacity() const { return s_.size(); }
  char* data() { return &s_[0]; }
  void set_size(size_t n) { size_ = n; }
  // Makes room for k more bytes; fails past the limit.
  void reserve(size_t k) {
    if (size_ + k > limit_)
      throw InflateLimitError("decompressed data exceeds the limit of " + std::to_string(limit_) + " bytes");
    if (size_ + k > s_.size()) {
      uint64_t want = std::max<uint64_t>({size_ + k, 2 * uint64_t(s_.size()), 4096});
      s_.resize(size_t(std::min(want, limit_)));
    }
  }
  char* grow(size_t k) {
    reserve(k);
    size_ += k;
    return &s_[size_ - k];
  }

private:
  std::string& s_;
  size_t start_, size_;
  uint64_t limit_;
};

inline void stored_block(BitReader& in, Output& out) {
  in.align();
  if (in.remaining() < 4) fail("truncated deflate data (stored block header)");
  const uint8_t* h = in.here();
  unsigned len = h[0] | (unsigned(h[1]) << 8), nlen = h[2] | (unsigned(h[3]) << 8);
  if (len != (~nlen & 0xFFFFu)) fail("corrupt stored block length in deflate data");
  in.skip(4);
  if (in.remaining() < len) fail("truncated deflate data (stored block)");
  if (len) std::memcpy(out.grow(len), in.here(), len);
  in.skip(len);
}

// Literals and <length, distance> pairs until the end-of-block code.
inline void coded_block(BitReader& in, Output& out, const Huffman& lit, const Huffman& dist) {
  static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                        31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
  static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                        2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
  static const uint16_t dist_base[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,
                                         33,  49,  65,  97,  129, 193,  257,  385,  513,  769,
                                         1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
  static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                         6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
  // The bit reader and the output position live in locals while the block decodes:
  // bytes stored through a char* may alias any object, so members would be reloaded
  // after every byte written.
  BitReader bits = in;
  char* buf = out.data();
  size_t size = out.size(), cap = out.capacity();
  const size_t start = out.start();
  auto room = [&](size_t k) {
    if (k <= cap - size) return;
    out.set_size(size);
    out.reserve(k);
    buf = out.data();
    cap = out.capacity();
  };
  for (;;) {
    int sym = lit.decode(bits);
    if (sym < 256) {
      room(1);
      buf[size++] = char(sym);
      continue;
    }
    if (sym == 256) break;
    sym -= 257;
    if (sym >= 29) fail("invalid length code in deflate data");
    size_t len = len_base[sym] + bits.bits(len_extra[sym]);
    int dsym = dist.decode(bits);
    if (dsym >= 30) fail("invalid distance code in deflate data");
    size_t d = dist_base[dsym] + bits.bits(dist_extra[dsym]);
    if (d > size - start) fail("deflate back-reference reaches before the start of the data");
    room(len);
    char* dst = buf + size;
    const char* src = dst - d;
    for (size_t i = 0; i < len; i++) dst[i] = src[i]; // byte by byte: d < len repeats
    size += len;
  }
  out.set_size(size);
  in = bits;
}

inline void fixed_codes(Huffman& lit, Huffman& dist) {
  uint8_t lengths[288];
  for (int s = 0; s < 288; s++) lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
  lit.build(lengths, 288);
  for (int s = 0; s < 30; s++) lengths[s] = 5;
  dist.build(lengths, 30);
}

inline void check_code(int result, const Huffman& h, const char* what) {
  if (result < 0 || (result > 0 && !h.single_one_bit_code()))
    fail(std::string("invalid ") + what + " code lengths in deflate data");
}

// Reads a dynamic block's code definitions (RFC 1951 3.2.7).
inline void dynamic_codes(BitReader& in, Huffman& lit, Huffman& dist) {
  static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
  int nlen = int(in.bits(5)) + 257, ndist = int(in.bits(5)) + 1, ncode = int(in.bits(4)) + 4;
  if (nlen > 286 || ndist > 30) fail("too many length or distance codes in deflate data");
  uint8_t lengths[286 + 30] = {0};
  for (int i = 0; i < ncode; i++) lengths[order[i]] = uint8_t(in.bits(3));
  Huffman lencode;
  if (lencode.build(lengths, 19) != 0) fail("invalid code-length code in deflate data");
  for (int i = 0; i < nlen + ndist;) {
    int sym = lencode.decode(in);
    if (sym < 16) {
      lengths[i++] = uint8_t(sym);
      continue;
    }
    uint8_t value = 0;
    int repeat;
    if (sym == 16) {
      if (i == 0) fail("deflate code-length repeat with no previous length");
      value = lengths[i - 1];
      repeat = 3 + int(in.bits(2));
    } else {
      repeat = sym == 17 ? 3 + int(in.bits(3)) : 11 + int(in.bits(7));
    }
    if (i + repeat > nlen + ndist) fail("deflate code lengths overrun their count");
    while (repeat--) lengths[i++] = value;
  }
  if (lengths[256] == 0) fail("deflate block has no end-of-block code");
  check_code(lit.build(lengths, nlen), lit, "literal/length");
  check_code(dist.build(lengths + nlen, ndist), dist, "distance");
}

} // namespace inflate_detail

// Decodes one raw DEFLATE stream, appending to `out`; returns the bytes of input used
// (through the final block's last byte).
inline size_t inflate_raw(const uint8_t* data, size_t size, std::string& out,
                          uint64_t limit = kDefaultInflateLimit, InflateStats* stats = nullptr) {
  using namespace inflate_detail;
  BitReader in(data, size);
  InflateStats seen;
  Huffman lit, dist;
  Output sink(out, limit);
  for (bool last = false; !last;) {
    last = in.bits(1) == 1;
    uint32_t type = in.bits(2);
    if (type == 0) {
      stored_block(in, sink);
      seen.stored++;
      continue;
    }
    if (type == 1) {
      fixed_codes(lit, dist);
      seen.fixed++;
    } else if (type == 2) {
      dynamic_codes(in, lit, dist);
      seen.dynamic++;
    } else {
      fail("invalid deflate block type 3");
    }
    coded_block(in, sink, lit, dist);
  }
  if (stats) {
    stats->stored += seen.stored;
    stats->fixed += seen.fixed;
    stats->dynamic += seen.dynamic;
  }
  in.align();
  return in.pos();
}

inline bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 2 && uint8_t(bytes[0]) == 0x1f && uint8_t(bytes[1]) == 0x8b;
}

// Decompresses gzip data (one or more members), appending to `out`. When the limit is
// reached, throws InflateLimitError with `out` holding what was decoded so far.
inline void gunzip_into(const std::string& bytes, std::string& out, uint64_t limit = kDefaultInflateLimit,
                        InflateStats* stats = nullptr) {
  using namespace inflate_detail;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  size_t pos = 0;
  do {
    const size_t start = pos;
    auto need = [&](size_t k, const char* what) {
      if (n - pos < k) fail(std::string("truncated gzip data (") + what + ")");
    };
    if (start > 0 && (n - pos < 2 || p[pos] != 0x1f || p[pos + 1] != 0x8b))
      fail(std::to_string(n - pos) + " unexpected bytes after the end of the gzip data");
    need(10, "header");
    if (p[pos] != 0x1f || p[pos + 1] != 0x8b) fail("not gzip data (bad magic)");
    if (p[pos + 2] != 8) fail("unsupported gzip compression method " + std::to_string(p[pos + 2]));
    uint8_t flags = p[pos + 3];
    if (flags & 0xE0) fail("gzip header has reserved flags set");
    pos += 10;
    if (flags & 4) { // FEXTRA
      need(2, "extra field");
      size_t xlen = p[pos] | (size_t(p[pos + 1]) << 8);
      pos += 2;
      need(xlen, "extra field");
      pos += xlen;
    }
    for (uint8_t f : {uint8_t(8), uint8_t(16)}) // FNAME, FCOMMENT: zero-terminated
      if (flags & f) {
        const void* end = std::memchr(p + pos, 0, n - pos);
        if (!end) fail("truncated gzip data (file name or comment)");
        pos = size_t(static_cast<const uint8_t*>(end) - p) + 1;
      }
    if (flags & 2) { // FHCRC
      need(2, "header CRC");
      if ((crc32(p + start, pos - start) & 0xFFFF) != (p[pos] | (unsigned(p[pos + 1]) << 8)))
        fail("gzip header CRC mismatch");
      pos += 2;
    }
    size_t member_start = out.size();
    pos += inflate_raw(p + pos, n - pos, out, limit, stats);
    need(8, "trailer");
    uint32_t crc = crc32(reinterpret_cast<const uint8_t*>(out.data()) + member_start,
                         out.size() - member_start);
    if (crc != load_le32(p + pos)) fail("gzip CRC mismatch: the data is corrupt");
    if (uint32_t(out.size() - member_start) != load_le32(p + pos + 4))
      fail("gzip length mismatch: the data is corrupt");
    pos += 8;
  } while (pos < n);
}

// Decompresses gzip data (one or more members), at most `limit` bytes.
inline std::string gunzip(const std::string& bytes, uint64_t limit = kDefaultInflateLimit,
                          InflateStats* stats = nullptr) {
  std::string out;
  gunzip_into(bytes, out, limit, stats);
  return out;
}

// The first `k` decompressed bytes of gzip data (all of them when there are fewer),
// decoding little more than that: a file's header, read before deciding how much of the
// rest to inflate. Corrupt data before that point throws FormatError.
inline std::string gunzip_prefix(const std::string& bytes, size_t k) {
  std::string out;
  try {
    // One step of the decoder writes at most a stored block (65535 bytes).
    gunzip_into(bytes, out, uint64_t(k) + 65536);
  } catch (const InflateLimitError&) {
  }
  if (out.size() > k) out.resize(k);
  return out;
}

} // namespace dlc_rt
