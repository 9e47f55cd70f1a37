// Data-path payload layouts (spec/wire-protocol-84.md §4.1). Integers are big-endian; block_id
// and barrier are copied as raw bytes so that echoes are exact whatever the sender's byte order.
#include <cstring>

#include "wire.h"

namespace udrbd::wire {

namespace {

void Need(const char* what, size_t n, size_t want, bool at_least = false) {
  if (at_least ? n >= want : n == want) return;
  throw WireError(Errc::kBadLength, std::string(what) + ": payload of " + std::to_string(n) +
                                        " bytes, expected " + (at_least ? "at least " : "") +
                                        std::to_string(want));
}

uint64_t Raw64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t Raw32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

uint64_t OvResultBlockId(bool in_sync) {
  uint8_t b[8];
  PutBE64(b, in_sync ? kIdInSync : kIdOutOfSync);
  return Raw64(b);
}

bool OvResultInSync(uint64_t raw_block_id) {
  uint8_t b[8];
  std::memcpy(b, &raw_block_id, 8);
  return GetBE64(b) == kIdInSync;
}

void Encode(const PData& v, uint8_t* out) {
  PutBE64(out, v.sector);
  std::memcpy(out + 8, &v.block_id, 8);
  PutBE32(out + 16, v.seq_num);
  PutBE32(out + 20, v.dp_flags);
}

void Encode(const PBlockReq& v, uint8_t* out) {
  PutBE64(out, v.sector);
  std::memcpy(out + 8, &v.block_id, 8);
  PutBE32(out + 16, v.blksize);
  PutBE32(out + 20, v.pad);
}

void Encode(const PBlockAck& v, uint8_t* out) {
  PutBE64(out, v.sector);
  std::memcpy(out + 8, &v.block_id, 8);
  PutBE32(out + 16, v.blksize);
  PutBE32(out + 20, v.seq_num);
}

void Encode(const PBarrier& v, uint8_t* out) {
  std::memcpy(out, &v.barrier, 4);
  PutBE32(out + 4, 0);
}

void Encode(const PBarrierAck& v, uint8_t* out) {
  std::memcpy(out, &v.barrier, 4);
  PutBE32(out + 4, v.set_size);
}

void Encode(const PBlockDesc& v, uint8_t* out) {
  PutBE64(out, v.sector);
  PutBE32(out + 8, v.blksize);
  PutBE32(out + 12, 0);
}

void Encode(const PTrim& v, uint8_t* out) {
  Encode(v.data, out);
  PutBE32(out + 24, v.size);
}

void Encode(const PDelayProbe& v, uint8_t* out) {
  PutBE32(out, v.seq_num);
  PutBE32(out + 4, v.offset);
}

// Pad fields are not checked on receipt (the kernel does not check them either).

PData DecodePData(const uint8_t* p, size_t n) {
  Need("p_data", n, kPDataSize, true);
  return PData{GetBE64(p), Raw64(p + 8), GetBE32(p + 16), GetBE32(p + 20)};
}

PBlockReq DecodePBlockReq(const uint8_t* p, size_t n) {
  Need("p_block_req", n, kPBlockReqSize, true);
  return PBlockReq{GetBE64(p), Raw64(p + 8), GetBE32(p + 16), GetBE32(p + 20)};
}

PBlockAck DecodePBlockAck(const uint8_t* p, size_t n) {
  Need("p_block_ack", n, kPBlockAckSize);
  return PBlockAck{GetBE64(p), Raw64(p + 8), GetBE32(p + 16), GetBE32(p + 20)};
}

PBarrier DecodePBarrier(const uint8_t* p, size_t n) {
  Need("p_barrier", n, kPBarrierSize);
  return PBarrier{Raw32(p)};
}

PBarrierAck DecodePBarrierAck(const uint8_t* p, size_t n) {
  Need("p_barrier_ack", n, kPBarrierAckSize);
  return PBarrierAck{Raw32(p), GetBE32(p + 4)};
}

PBlockDesc DecodePBlockDesc(const uint8_t* p, size_t n) {
  Need("p_block_desc", n, kPBlockDescSize);
  return PBlockDesc{GetBE64(p), GetBE32(p + 8)};
}

PTrim DecodePTrim(const uint8_t* p, size_t n) {
  Need("p_trim", n, kPTrimSize);
  return PTrim{DecodePData(p, kPDataSize), GetBE32(p + 24)};
}

PDelayProbe DecodePDelayProbe(const uint8_t* p, size_t n) {
  Need("p_delay_probe", n, kPDelayProbeSize);
  return PDelayProbe{GetBE32(p), GetBE32(p + 4)};
}

}  // namespace udrbd::wire
