#include "wire.h"

#include <cstdio>

namespace udrbd {
namespace wire {

const char* CmdName(uint16_t cmd) {
  switch (static_cast<Cmd>(cmd)) {
    case Cmd::kData: return "Data";
    case Cmd::kDataReply: return "DataReply";
    case Cmd::kRsDataReply: return "RSDataReply";
    case Cmd::kBarrier: return "Barrier";
    case Cmd::kBitmap: return "ReportBitMap";
    case Cmd::kUnplugRemote: return "UnplugRemote";
    case Cmd::kDataRequest: return "DataRequest";
    case Cmd::kRsDataRequest: return "RSDataRequest";
    case Cmd::kSyncParam: return "SyncParam";
    case Cmd::kProtocol: return "ReportProtocol";
    case Cmd::kUuids: return "ReportUUIDs";
    case Cmd::kSizes: return "ReportSizes";
    case Cmd::kState: return "ReportState";
    case Cmd::kSyncUuid: return "ReportSyncUUID";
    case Cmd::kAuthChallenge: return "AuthChallenge";
    case Cmd::kAuthResponse: return "AuthResponse";
    case Cmd::kStateChgReq: return "StateChgRequest";
    case Cmd::kPing: return "Ping";
    case Cmd::kPingAck: return "PingAck";
    case Cmd::kRecvAck: return "RecvAck";
    case Cmd::kWriteAck: return "WriteAck";
    case Cmd::kRsWriteAck: return "RSWriteAck";
    case Cmd::kSuperseded: return "Superseded";
    case Cmd::kNegAck: return "NegAck";
    case Cmd::kNegDreply: return "NegDReply";
    case Cmd::kNegRsDreply: return "NegRSDReply";
    case Cmd::kBarrierAck: return "BarrierAck";
    case Cmd::kStateChgReply: return "StateChgReply";
    case Cmd::kOvRequest: return "OVRequest";
    case Cmd::kOvReply: return "OVReply";
    case Cmd::kOvResult: return "OVResult";
    case Cmd::kCsumRsRequest: return "CsumRSRequest";
    case Cmd::kRsIsInSync: return "CsumRSIsInSync";
    case Cmd::kSyncParam89: return "SyncParam89";
    case Cmd::kCompressedBitmap: return "CBitmap";
    case Cmd::kDelayProbe: return "DelayProbe";
    case Cmd::kOutOfSync: return "OutOfSync";
    case Cmd::kRsCancel: return "RSCancel";
    case Cmd::kConnStChgReq: return "conn_st_chg_req";
    case Cmd::kConnStChgReply: return "conn_st_chg_reply";
    case Cmd::kRetryWrite: return "retry_write";
    case Cmd::kProtocolUpdate: return "protocol_update";
    case Cmd::kTrim: return "Trim";
    case Cmd::kRsThinReq: return "rs_thin_req";
    case Cmd::kRsDeallocated: return "rs_deallocated";
    case Cmd::kWsame: return "WriteSame";
    case Cmd::kZeroes: return "Zeroes";
    case Cmd::kInitialMeta: return "InitialMeta";
    case Cmd::kInitialData: return "InitialData";
    case Cmd::kConnectionFeatures: return "ConnectionFeatures";
  }
  return "Unknown";
}

std::string Hex(uint32_t v, int digits) {
  char b[16];
  std::snprintf(b, sizeof(b), "%0*x", digits, v);
  return b;
}

bool DecodeH80(const uint8_t* h, Header* out) {
  if (ReadBe32(h) != kMagic80) return false;
  out->command = ReadBe16(h + 4);
  out->length = ReadBe16(h + 6);
  out->volume = 0;
  return true;
}

bool DecodeH100(const uint8_t* h, Header* out, std::string* err) {
  uint32_t magic = ReadBe32(h);
  if (magic != kMagic100) {
    *err = "Wrong magic value 0x" + Hex(magic, 8) + " in protocol version 101";
    return false;
  }
  if (ReadBe32(h + 12) != 0) {
    *err = "Header padding is not zero";
    return false;
  }
  out->volume = ReadBe16(h + 4);
  out->command = ReadBe16(h + 6);
  out->length = ReadBe32(h + 8);
  return true;
}

void EncodeH100(uint8_t* h, uint16_t cmd, uint32_t length) {
  WriteBe32(h, kMagic100);
  WriteBe16(h + 4, 0);
  WriteBe16(h + 6, cmd);
  WriteBe32(h + 8, length);
  WriteBe32(h + 12, 0);
}

std::vector<uint8_t> EncodeFeatures(const Features& f) {
  std::vector<uint8_t> p(kH80Size + kFeaturesPayload, 0);
  WriteBe32(p.data(), kMagic80);
  WriteBe16(p.data() + 4, static_cast<uint16_t>(Cmd::kConnectionFeatures));
  WriteBe16(p.data() + 6, kFeaturesPayload);
  WriteBe32(p.data() + 8, f.protocol_min);
  WriteBe32(p.data() + 12, f.feature_flags);
  WriteBe32(p.data() + 16, f.protocol_max);
  return p;
}

Features DecodeFeatures(const uint8_t* p) { return Features{ReadBe32(p), ReadBe32(p + 4), ReadBe32(p + 8)}; }

PData DecodePData(const uint8_t* p) {
  PData d;
  d.sector = ReadBe64(p);
  std::memcpy(&d.block_id, p + 8, 8);
  d.seq = ReadBe32(p + 16);
  d.dp_flags = ReadBe32(p + 20);
  return d;
}

void EncodePData(uint8_t* p, uint64_t sector, uint64_t block_id, uint32_t seq, uint32_t dp_flags) {
  WriteBe64(p, sector);
  std::memcpy(p + 8, &block_id, 8);
  WriteBe32(p + 16, seq);
  WriteBe32(p + 20, dp_flags);
}

void EncodePDataReply(uint8_t* p, const uint8_t* sector_raw, const uint8_t* block_id_raw) {
  std::memcpy(p, sector_raw, 8);
  std::memcpy(p + 8, block_id_raw, 8);
  std::memset(p + 16, 0, 8);
}

BlockReq DecodeBlockReq(const uint8_t* p) { return BlockReq{ReadBe64(p), ReadBe32(p + 16)}; }

void EncodeBlockAck(uint8_t* p, const uint8_t* sector_raw, const uint8_t* block_id_raw, uint32_t size, uint32_t seq) {
  std::memcpy(p, sector_raw, 8);
  std::memcpy(p + 8, block_id_raw, 8);
  WriteBe32(p + 16, size);
  WriteBe32(p + 20, seq);
}

void EncodeBarrier(uint8_t* p, uint32_t nr) {
  std::memcpy(p, &nr, 4);
  std::memset(p + 4, 0, 4);
}

uint32_t DecodeBarrierNr(const uint8_t* p) {
  uint32_t nr;
  std::memcpy(&nr, p, 4);
  return nr;
}

void EncodeBarrierAck(uint8_t* p, const uint8_t* barrier_raw, uint32_t set_size) {
  std::memcpy(p, barrier_raw, 4);
  WriteBe32(p + 4, set_size);
}

bool IsControlPacket(uint16_t cmd) {
  switch (static_cast<Cmd>(cmd)) {
    case Cmd::kProtocol:
    case Cmd::kProtocolUpdate:
    case Cmd::kSyncParam89:
    case Cmd::kSizes:
    case Cmd::kUuids:
    case Cmd::kState:
    case Cmd::kSyncUuid:
    case Cmd::kStateChgReq:
    case Cmd::kConnStChgReq:
      return true;
    default:
      return false;
  }
}

int MetaPayloadSize(uint16_t cmd) {
  switch (static_cast<Cmd>(cmd)) {
    case Cmd::kPing:
    case Cmd::kPingAck:
      return 0;
    case Cmd::kRecvAck:
    case Cmd::kWriteAck:
    case Cmd::kRsWriteAck:
    case Cmd::kSuperseded:
    case Cmd::kNegAck:
    case Cmd::kNegDreply:
    case Cmd::kNegRsDreply:
    case Cmd::kOvResult:
    case Cmd::kRsIsInSync:
    case Cmd::kRsCancel:
    case Cmd::kRetryWrite:
      return static_cast<int>(kBlockAckSize);
    case Cmd::kBarrierAck:
      return static_cast<int>(kBarrierAckSize);
    case Cmd::kStateChgReply:
    case Cmd::kConnStChgReply:
      return 4;
    case Cmd::kDelayProbe:
      return 8;
    default:
      return -1;
  }
}

}  // namespace wire
}  // namespace udrbd
