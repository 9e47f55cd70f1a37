// Digests by kernel crypto-API name, for verify-alg, csums-alg, data-integrity-alg and
// cram-hmac-alg. Hash names go to OpenSSL (Node's own, through EVP_get_digestbyname: "sha1",
// "sha256", "sha512", "md5", ...); "crc32c" is computed here (the kernel name DRBD users pick
// most for verify). Unknown names throw wire::WireError(kAlgorithm).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace udrbd {

size_t DigestSize(const std::string& alg);
std::vector<uint8_t> Digest(const std::string& alg, const uint8_t* p, size_t n);
// HMAC_alg(key, data), as the kernel's "hmac(<alg>)" for cram-hmac. Not defined for crc32c.
std::vector<uint8_t> Hmac(const std::string& alg, const uint8_t* key, size_t key_len,
                          const uint8_t* p, size_t n);
// Constant-time comparison of equal-length buffers (auth responses).
bool DigestEqual(const uint8_t* a, const uint8_t* b, size_t n);

}  // namespace udrbd
