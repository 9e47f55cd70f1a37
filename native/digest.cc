#include "digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crc32c.h"
#include "wire.h"

namespace udrbd {

namespace {

using wire::Errc;
using wire::WireError;

const EVP_MD* Md(const std::string& alg) {
  // Kernel names are what drbd.conf holds; OpenSSL knows the common ones by the same names.
  const EVP_MD* md = alg.empty() ? nullptr : EVP_get_digestbyname(alg.c_str());
  if (!md) throw WireError(Errc::kAlgorithm, "unknown digest algorithm \"" + alg + "\"");
  return md;
}

}  // namespace

size_t DigestSize(const std::string& alg) {
  if (alg == "crc32c") return 4;
  return size_t(EVP_MD_get_size(Md(alg)));
}

std::vector<uint8_t> Digest(const std::string& alg, const uint8_t* p, size_t n) {
  if (alg == "crc32c") {
    uint32_t c = Crc32c(p, n);
    // The kernel's crc32c shash stores its result little-endian.
    return {uint8_t(c), uint8_t(c >> 8), uint8_t(c >> 16), uint8_t(c >> 24)};
  }
  const EVP_MD* md = Md(alg);
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_Digest(p, n, out.data(), &len, md, nullptr) != 1) {
    throw WireError(Errc::kAlgorithm, "digest " + alg + " failed");
  }
  out.resize(len);
  return out;
}

std::vector<uint8_t> Hmac(const std::string& alg, const uint8_t* key, size_t key_len,
                          const uint8_t* p, size_t n) {
  if (alg == "crc32c") throw WireError(Errc::kAlgorithm, "crc32c cannot be used as an HMAC hash");
  const EVP_MD* md = Md(alg);
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  static const uint8_t kEmpty = 0;  // HMAC() wants a non-null pointer even for empty input
  if (!HMAC(md, key_len ? key : &kEmpty, int(key_len), n ? p : &kEmpty, n, out.data(), &len)) {
    throw WireError(Errc::kAlgorithm, "HMAC " + alg + " failed");
  }
  out.resize(len);
  return out;
}

bool DigestEqual(const uint8_t* a, const uint8_t* b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

}  // namespace udrbd
