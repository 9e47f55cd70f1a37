// cram-hmac authentication payloads (spec/wire-protocol-84.md §6.3). The peer link sends our
// challenge, checks the peer's, answers it and verifies the peer's answer; a false return of
// VerifyAuthResponse means "Authentication of peer failed" (StandAlone, no retry).
#include <openssl/rand.h>

#include <cstring>

#include "digest.h"
#include "wire.h"

namespace udrbd::wire {

std::vector<uint8_t> MakeChallenge() {
  std::vector<uint8_t> c(kChallengeSize);
  if (RAND_bytes(c.data(), int(c.size())) != 1) throw WireError(Errc::kAuth, "no random bytes for the challenge");
  return c;
}

void CheckPeerChallenge(const uint8_t* peer, size_t n, const std::vector<uint8_t>& own) {
  if (n > kMaxChallengeSize) throw WireError(Errc::kAuth, "expected AuthChallenge payload too big.");
  if (n < kChallengeSize) throw WireError(Errc::kAuth, "AuthChallenge payload too small.");
  // A peer echoing our challenge could replay our own answer back to us.
  if (own.size() >= kChallengeSize && std::memcmp(peer, own.data(), kChallengeSize) == 0) {
    throw WireError(Errc::kAuth, "Peer presented the same challenge!");
  }
}

std::vector<uint8_t> AuthResponse(const std::string& alg, const std::string& secret,
                                  const uint8_t* peer_challenge, size_t n) {
  return Hmac(alg, reinterpret_cast<const uint8_t*>(secret.data()), secret.size(), peer_challenge, n);
}

bool VerifyAuthResponse(const std::string& alg, const std::string& secret,
                        const std::vector<uint8_t>& own_challenge, const uint8_t* response, size_t n) {
  std::vector<uint8_t> want = AuthResponse(alg, secret, own_challenge.data(), own_challenge.size());
  if (n != want.size()) throw WireError(Errc::kAuth, "expected AuthResponse payload of wrong size");
  return DigestEqual(want.data(), response, n);
}

}  // namespace udrbd::wire
