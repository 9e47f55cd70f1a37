// CRC-32C (Castagnoli), as the Linux crypto API's "crc32c" computes it for DRBD's verify-alg /
// csums-alg / data-integrity-alg: reflected polynomial 0x82F63B78, seed 0xFFFFFFFF, final
// inversion; the 4-byte digest on the wire is that value in little-endian byte order
// (confirmed by test/unit/wire against the online-verify capture).
#pragma once
#include <cstddef>
#include <cstdint>

namespace udrbd {

// Continues a CRC: pass the previous return value (0 to start). Crc32c("123456789") = 0xE3069283.
uint32_t Crc32c(const uint8_t* p, size_t n, uint32_t crc = 0);

}  // namespace udrbd
