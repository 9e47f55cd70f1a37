// DRBD 8.4 framing and data-path packet layouts (spec/wire-protocol-84.md §2-4).
// Big-endian fields unless marked opaque; block_id and barrier numbers are echoed raw.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace udrbd {
namespace wire {

enum class Cmd : uint16_t {
  kData = 0x00, kDataReply = 0x01, kRsDataReply = 0x02, kBarrier = 0x03, kBitmap = 0x04,
  kUnplugRemote = 0x07, kDataRequest = 0x08, kRsDataRequest = 0x09, kSyncParam = 0x0a,
  kProtocol = 0x0b, kUuids = 0x0c, kSizes = 0x0d, kState = 0x0e, kSyncUuid = 0x0f,
  kAuthChallenge = 0x10, kAuthResponse = 0x11, kStateChgReq = 0x12, kPing = 0x13, kPingAck = 0x14,
  kRecvAck = 0x15, kWriteAck = 0x16, kRsWriteAck = 0x17, kSuperseded = 0x18, kNegAck = 0x19,
  kNegDreply = 0x1a, kNegRsDreply = 0x1b, kBarrierAck = 0x1c, kStateChgReply = 0x1d,
  kOvRequest = 0x1e, kOvReply = 0x1f, kOvResult = 0x20, kCsumRsRequest = 0x21, kRsIsInSync = 0x22,
  kSyncParam89 = 0x23, kCompressedBitmap = 0x24, kDelayProbe = 0x27, kOutOfSync = 0x28,
  kRsCancel = 0x29, kConnStChgReq = 0x2a, kConnStChgReply = 0x2b, kRetryWrite = 0x2c,
  kProtocolUpdate = 0x2d, kTrim = 0x31, kRsThinReq = 0x32, kRsDeallocated = 0x33, kWsame = 0x34,
  kZeroes = 0x36, kInitialMeta = 0xfff1, kInitialData = 0xfff2, kConnectionFeatures = 0xfffe,
};

const char* CmdName(uint16_t cmd);
std::string Hex(uint32_t v, int digits);

constexpr uint32_t kMagic80 = 0x83740267;
constexpr uint32_t kMagic100 = 0x8620EC20;
constexpr size_t kH80Size = 8;
constexpr size_t kH100Size = 16;
constexpr uint32_t kFeaturesPayload = 72;
constexpr size_t kPDataSize = 24;
constexpr size_t kPTrimSize = 28;
constexpr size_t kBlockReqSize = 24;
constexpr size_t kBlockAckSize = 24;
constexpr size_t kBarrierSize = 8;
constexpr size_t kBarrierAckSize = 8;
constexpr uint32_t kMaxBioSize = 1u << 20;

// dp_flags (§8.1)
constexpr uint32_t kDpRwSync = 2, kDpMaySetInSync = 4, kDpFua = 16, kDpFlush = 32, kDpDiscard = 64,
                   kDpSendReceiveAck = 128, kDpSendWriteAck = 256, kDpZeroes = 1024;

constexpr uint8_t kInitialData[kH80Size] = {0x83, 0x74, 0x02, 0x67, 0xff, 0xf2, 0x00, 0x00};
constexpr uint8_t kInitialMeta[kH80Size] = {0x83, 0x74, 0x02, 0x67, 0xff, 0xf1, 0x00, 0x00};

inline uint16_t ReadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t ReadBe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline uint64_t ReadBe64(const uint8_t* p) { return static_cast<uint64_t>(ReadBe32(p)) << 32 | ReadBe32(p + 4); }
inline void WriteBe16(uint8_t* p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
inline void WriteBe32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24; p[1] = (v >> 16) & 0xff; p[2] = (v >> 8) & 0xff; p[3] = v & 0xff;
}
inline void WriteBe64(uint8_t* p, uint64_t v) { WriteBe32(p, v >> 32); WriteBe32(p + 4, v & 0xffffffffu); }

struct Header {
  uint16_t command = 0;
  uint16_t volume = 0;
  uint32_t length = 0;
};

bool DecodeH80(const uint8_t* h, Header* out);
// Wrong magic / nonzero padding: false with the kernel's message in *err.
bool DecodeH100(const uint8_t* h, Header* out, std::string* err);
void EncodeH100(uint8_t* h, uint16_t cmd, uint32_t length);

struct Features {
  uint32_t protocol_min, feature_flags, protocol_max;
};
std::vector<uint8_t> EncodeFeatures(const Features& f);  // whole packet, h80 header included
Features DecodeFeatures(const uint8_t* payload);

struct PData {
  uint64_t sector, block_id;
  uint32_t seq, dp_flags;
};
PData DecodePData(const uint8_t* p);
// block_id is ours: written in host order, echoed back raw by the peer.
void EncodePData(uint8_t* p, uint64_t sector, uint64_t block_id, uint32_t seq, uint32_t dp_flags);
// A reply to a request: sector and block_id copied raw from the request, seq and flags 0.
void EncodePDataReply(uint8_t* p, const uint8_t* sector_raw, const uint8_t* block_id_raw);

struct BlockReq {
  uint64_t sector;
  uint32_t size;
};
BlockReq DecodeBlockReq(const uint8_t* p);

void EncodeBlockAck(uint8_t* p, const uint8_t* sector_raw, const uint8_t* block_id_raw, uint32_t size, uint32_t seq);
void EncodeBarrier(uint8_t* p, uint32_t nr);  // nr in host order (opaque to the peer)
uint32_t DecodeBarrierNr(const uint8_t* p);   // our own number, echoed in P_BARRIER_ACK
void EncodeBarrierAck(uint8_t* p, const uint8_t* barrier_raw, uint32_t set_size);

// Packets handed to the control plane (src/protocol owns their payloads).
bool IsControlPacket(uint16_t cmd);
// Exact payload size of a meta-socket packet, or -1 if the command is not one.
int MetaPayloadSize(uint16_t cmd);

}  // namespace wire
}  // namespace udrbd
