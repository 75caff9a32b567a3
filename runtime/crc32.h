// CRC-32 (ISO-HDLC, the polynomial of gzip and zlib): gzip members' checks and the
// checksum that protects the safetensors files dlc writes (safetensors.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dlc_rt {

// A little-endian 32-bit word.
inline uint32_t load_le32(const uint8_t* p) {
  return p[0] | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

// CRC-32 (ISO-HDLC, as in gzip), continuing from `crc` (0 to start). Slicing by 8:
// eight table lookups per 8 bytes instead of a dependent lookup per byte.
inline uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0) {
  struct Tables {
    uint32_t t[8][256];
  };
  static const Tables tab = [] {
    Tables x{};
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      x.t[0][i] = c;
    }
    for (int s = 1; s < 8; s++)
      for (int i = 0; i < 256; i++) x.t[s][i] = (x.t[s - 1][i] >> 8) ^ x.t[0][x.t[s - 1][i] & 0xFF];
    return x;
  }();
  const auto& t = tab.t;
  crc = ~crc;
  for (; n >= 8; n -= 8, data += 8) {
    uint32_t lo = crc ^ load_le32(data), hi = load_le32(data + 4);
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
  }
  for (; n > 0; n--, data++) crc = t[0][(crc ^ *data) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

} // namespace dlc_rt
