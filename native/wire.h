// DRBD 8.4 wire codec, data-plane half (spec/wire-protocol-84.md): packet headers, the command
// table, P_CONNECTION_FEATURES, cram-hmac authentication and every data-path packet layout.
// Control packets (P_PROTOCOL, P_SYNC_PARAM89, P_SIZES, P_UUIDS, P_STATE, state-change requests
// and replies, P_SYNC_UUID) are decoded in src/protocol/ (TypeScript); the peer link carries them
// as opaque (command, payload) pairs and only bounds their size with the table below.
//
// Everything here is pure byte work (no I/O, no Node-API) so the peer link's threads can use it.
// Decoders check lengths strictly and throw WireError; callers drop the connection on it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace udrbd::wire {

// ---- errors ---------------------------------------------------------------------------------

enum class Errc {
  kWrongMagic,      // header magic does not fit the agreed protocol
  kHeaderPadding,   // h100 pad field not zero
  kBadLength,       // payload length not allowed for the command
  kUnknownCommand,  // command number not known / not allowed on this socket
  kIncompatible,    // feature exchange: protocol ranges do not overlap
  kAuth,            // authentication packet malformed or failed
  kBitmap,          // bitmap transfer malformed (overflow, bad encoding, bad chunk size)
  kAlgorithm,       // unknown digest / HMAC algorithm
  kArgument,        // caller passed a value that cannot be encoded
};

// Stable names for Errc, e.g. "ERR_WIRE_MAGIC" (used as the JS error `code`).
const char* ErrcName(Errc code);

class WireError : public std::runtime_error {
 public:
  WireError(Errc code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  Errc code() const { return code_; }

 private:
  Errc code_;
};

// ---- command numbers (§3) -------------------------------------------------------------------

enum Command : uint16_t {
  P_DATA = 0x00,
  P_DATA_REPLY = 0x01,
  P_RS_DATA_REPLY = 0x02,
  P_BARRIER = 0x03,
  P_BITMAP = 0x04,
  P_BECOME_SYNC_TARGET = 0x05,
  P_BECOME_SYNC_SOURCE = 0x06,
  P_UNPLUG_REMOTE = 0x07,
  P_DATA_REQUEST = 0x08,
  P_RS_DATA_REQUEST = 0x09,
  P_SYNC_PARAM = 0x0a,
  P_PROTOCOL = 0x0b,
  P_UUIDS = 0x0c,
  P_SIZES = 0x0d,
  P_STATE = 0x0e,
  P_SYNC_UUID = 0x0f,
  P_AUTH_CHALLENGE = 0x10,
  P_AUTH_RESPONSE = 0x11,
  P_STATE_CHG_REQ = 0x12,
  P_PING = 0x13,
  P_PING_ACK = 0x14,
  P_RECV_ACK = 0x15,
  P_WRITE_ACK = 0x16,
  P_RS_WRITE_ACK = 0x17,
  P_SUPERSEDED = 0x18,
  P_NEG_ACK = 0x19,
  P_NEG_DREPLY = 0x1a,
  P_NEG_RS_DREPLY = 0x1b,
  P_BARRIER_ACK = 0x1c,
  P_STATE_CHG_REPLY = 0x1d,
  P_OV_REQUEST = 0x1e,
  P_OV_REPLY = 0x1f,
  P_OV_RESULT = 0x20,
  P_CSUM_RS_REQUEST = 0x21,
  P_RS_IS_IN_SYNC = 0x22,
  P_SYNC_PARAM89 = 0x23,
  P_COMPRESSED_BITMAP = 0x24,
  P_DELAY_PROBE = 0x27,
  P_OUT_OF_SYNC = 0x28,
  P_RS_CANCEL = 0x29,
  P_CONN_ST_CHG_REQ = 0x2a,
  P_CONN_ST_CHG_REPLY = 0x2b,
  P_RETRY_WRITE = 0x2c,
  P_PROTOCOL_UPDATE = 0x2d,
  P_TRIM = 0x31,
  P_RS_THIN_REQ = 0x32,
  P_RS_DEALLOCATED = 0x33,
  P_WSAME = 0x34,
  P_ZEROES = 0x36,
  P_INITIAL_META = 0xfff1,
  P_INITIAL_DATA = 0xfff2,
  P_CONNECTION_FEATURES = 0xfffe,
};

enum class Sock { kData, kMeta, kBoth, kNone };

// Feature flags of P_CONNECTION_FEATURES.
constexpr uint32_t FF_TRIM = 1, FF_THIN_RESYNC = 2, FF_WSAME = 4, FF_WZEROES = 8;

struct CommandInfo {
  uint16_t cmd;
  const char* name;   // "P_DATA"
  Sock sock;          // socket it travels on (kNone: obsolete / never valid in 8.4)
  int fixed_size;     // exact payload size, or -1 if variable (P_SIZES: see FixedPayloadSize)
  uint32_t max_size;  // upper bound for variable payloads (0 for fixed)
};

// nullptr for numbers that are not 8.4 commands.
const CommandInfo* FindCommand(uint16_t cmd);
const char* CommandName(uint16_t cmd);  // "P_DATA"; "UNKNOWN" for unknown numbers

// Exact payload size for fixed-size commands (P_SIZES depends on FF_WSAME), -1 if variable,
// -2 if unknown.
int FixedPayloadSize(uint16_t cmd, uint32_t agreed_features);

// Meta socket: exact size or -1 if the command does not belong on the meta socket.
int MetaPayloadSize(uint16_t cmd);

// The receiver's length check for any packet: throws WireError kBadLength / kUnknownCommand with
// the kernel's wording. digest_size: integrity/csums/verify digest expected in P_DATA*,
// P_CSUM_RS_REQUEST, P_OV_REPLY (pass -1 to accept any); max_bio: receiver's max_bio_size.
void CheckPayloadSize(uint16_t cmd, uint32_t size, Sock sock, uint32_t agreed_features,
                      int digest_size = -1, uint32_t max_bio = 1u << 20);

// ---- headers (§2) ---------------------------------------------------------------------------

constexpr uint32_t kMagic80 = 0x83740267;
constexpr uint16_t kMagic95 = 0x835A;
constexpr uint32_t kMagic100 = 0x8620EC20;
constexpr size_t kH80Size = 8;
constexpr size_t kH100Size = 16;
constexpr uint32_t kMaxH80Payload = 0xffff;  // the u16 length field
constexpr uint32_t kSocketBufferSize = 4096;  // DRBD_SOCKET_BUFFER_SIZE

struct Header {
  uint16_t command = 0;
  uint16_t volume = 0;  // h100 only
  uint32_t length = 0;  // payload bytes after the header
};

// 16 at agreed >= 100, else 8. "agreed" before the feature exchange is 80.
size_t HeaderSize(int agreed);

// Writes the header the kernel would use for `agreed` (h100 at >= 100; h95 at 95..99 for
// payloads > 32 KiB; h80 otherwise) into out[HeaderSize(agreed)]. Returns bytes written.
size_t EncodeHeader(int agreed, const Header& h, uint8_t* out);
std::vector<uint8_t> EncodeHeader(int agreed, const Header& h);

// Parses HeaderSize(agreed) bytes. Throws WireError(kWrongMagic,
// "Wrong magic value 0x%08x in protocol version %d") or (kHeaderPadding, "Header padding is not zero").
Header DecodeHeader(int agreed, const uint8_t* p, size_t n);

// ---- P_CONNECTION_FEATURES (§4.2, §6.2) ---------------------------------------------------------

constexpr size_t kFeaturesSize = 72;

struct Features {
  uint32_t protocol_min = 100;
  uint32_t feature_flags = 0;
  uint32_t protocol_max = 101;
};

void EncodeFeatures(const Features& f, uint8_t out[kFeaturesSize]);
Features DecodeFeatures(const uint8_t* p, size_t n);  // n must be 72; pad/reserved ignored

struct Agreement {
  int version;        // agreed protocol version
  uint32_t features;  // agreed feature flags
};
// mine.protocol_max 0 is never sent; the peer's protocol_max 0 means = protocol_min. Throws
// kIncompatible "incompatible DRBD dialects: I support %d-%d, peer supports %d-%d".
Agreement Negotiate(const Features& mine, const Features& peer);

// ---- cram-hmac authentication (§6.3) --------------------------------------------------------

constexpr size_t kChallengeSize = 64;
constexpr size_t kMaxChallengeSize = 128;

std::vector<uint8_t> MakeChallenge();  // 64 bytes from OpenSSL's RAND_bytes
// Checks a received P_AUTH_CHALLENGE payload: 64..128 bytes, and not our own challenge.
void CheckPeerChallenge(const uint8_t* peer, size_t n, const std::vector<uint8_t>& own);
// HMAC_alg(key = secret bytes, msg = the peer's whole challenge) = our P_AUTH_RESPONSE payload.
std::vector<uint8_t> AuthResponse(const std::string& alg, const std::string& secret,
                                  const uint8_t* peer_challenge, size_t n);
// True iff `response` (the peer's P_AUTH_RESPONSE payload) is HMAC(secret, own challenge).
// Throws kAuth if its length is not the digest size.
bool VerifyAuthResponse(const std::string& alg, const std::string& secret,
                        const std::vector<uint8_t>& own_challenge, const uint8_t* response, size_t n);

// ---- data-path payloads (§4.1) --------------------------------------------------------------
// block_id (8 bytes) and barrier (4 bytes) are opaque: they hold the raw wire bytes
// (memcpy'd, host order of the *sender*), so echoing them is exact. Our own handles can be
// stored the same way; only P_OV_RESULT uses a defined big-endian value (OvResultBlockId).

constexpr size_t kPDataSize = 24, kPBlockReqSize = 24, kPBlockAckSize = 24, kPBarrierSize = 8,
                 kPBarrierAckSize = 8, kPBlockDescSize = 16, kPTrimSize = 28, kPDelayProbeSize = 8;
constexpr uint64_t kIdSyncer = ~uint64_t(0);  // same bytes in either order
constexpr uint64_t kIdInSync = 4711, kIdOutOfSync = 4712;
constexpr uint32_t kMaxBioSize = 1u << 20;

// dp_flags (§8.1)
constexpr uint32_t DP_HARDBARRIER = 1, DP_RW_SYNC = 2, DP_MAY_SET_IN_SYNC = 4, DP_UNPLUG = 8,
                   DP_FUA = 16, DP_FLUSH = 32, DP_DISCARD = 64, DP_SEND_RECEIVE_ACK = 128,
                   DP_SEND_WRITE_ACK = 256, DP_WSAME = 512, DP_ZEROES = 1024;

struct PData {  // P_DATA, P_DATA_REPLY, P_RS_DATA_REPLY (fixed part)
  uint64_t sector = 0;
  uint64_t block_id = 0;  // raw
  uint32_t seq_num = 0;
  uint32_t dp_flags = 0;
};
struct PBlockReq {  // P_DATA_REQUEST, P_RS_DATA_REQUEST, P_OV_REQUEST, P_RS_THIN_REQ (+ digest:
                    // P_CSUM_RS_REQUEST, P_OV_REPLY)
  uint64_t sector = 0;
  uint64_t block_id = 0;  // raw
  uint32_t blksize = 0;
  // Meant to be 0, but the kernel does not clear it (its P_OV_REQUEST carries 0x00000082):
  // kept so that a decoded packet re-encodes byte for byte; never interpreted.
  uint32_t pad = 0;
};
struct PBlockAck {  // every meta-socket block ack, P_OV_RESULT, P_RS_IS_IN_SYNC, P_RS_CANCEL
  uint64_t sector = 0;
  uint64_t block_id = 0;  // raw
  uint32_t blksize = 0;
  uint32_t seq_num = 0;
};
struct PBarrier {
  uint32_t barrier = 0;  // raw
};
struct PBarrierAck {
  uint32_t barrier = 0;  // raw, echoed
  uint32_t set_size = 0;
};
struct PBlockDesc {  // P_OUT_OF_SYNC, P_RS_DEALLOCATED
  uint64_t sector = 0;
  uint32_t blksize = 0;
};
struct PTrim {  // P_TRIM, P_ZEROES (no data follows)
  PData data;
  uint32_t size = 0;
};
struct PDelayProbe {
  uint32_t seq_num = 0;
  uint32_t offset = 0;
};

// Raw block_id carrying the big-endian 4711 / 4712 of P_OV_RESULT.
uint64_t OvResultBlockId(bool in_sync);
// Interprets a P_OV_RESULT block_id: true = in sync (4711), false = out of sync (4712).
bool OvResultInSync(uint64_t raw_block_id);

// Encoders write exactly the struct size; decoders require n == size (or n >= size where
// noted) and throw kBadLength otherwise.
void Encode(const PData& v, uint8_t* out);
void Encode(const PBlockReq& v, uint8_t* out);
void Encode(const PBlockAck& v, uint8_t* out);
void Encode(const PBarrier& v, uint8_t* out);
void Encode(const PBarrierAck& v, uint8_t* out);
void Encode(const PBlockDesc& v, uint8_t* out);
void Encode(const PTrim& v, uint8_t* out);
void Encode(const PDelayProbe& v, uint8_t* out);

PData DecodePData(const uint8_t* p, size_t n);          // n >= 24 (digest + data follow)
PBlockReq DecodePBlockReq(const uint8_t* p, size_t n);  // n >= 24 (digest may follow)
PBlockAck DecodePBlockAck(const uint8_t* p, size_t n);  // n == 24
PBarrier DecodePBarrier(const uint8_t* p, size_t n);    // n == 8
PBarrierAck DecodePBarrierAck(const uint8_t* p, size_t n);
PBlockDesc DecodePBlockDesc(const uint8_t* p, size_t n);
PTrim DecodePTrim(const uint8_t* p, size_t n);
PDelayProbe DecodePDelayProbe(const uint8_t* p, size_t n);

// Length of the data part of a P_DATA / P_DATA_REPLY / P_RS_DATA_REPLY payload of `size` bytes
// with a digest of digest_size bytes: checks >= 24 + digest, data multiple of 512, <= max_bio.
uint32_t DataLength(uint16_t cmd, uint32_t size, uint32_t digest_size, uint32_t max_bio = kMaxBioSize);

// ---- big-endian helpers (shared by wire_*.cc) ------------------------------------------------

inline void PutBE16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void PutBE32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (24 - 8 * i));
}
inline void PutBE64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (56 - 8 * i));
}
inline uint16_t GetBE16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
inline uint32_t GetBE32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline uint64_t GetBE64(const uint8_t* p) { return (uint64_t(GetBE32(p)) << 32) | GetBE32(p + 4); }

}  // namespace udrbd::wire
