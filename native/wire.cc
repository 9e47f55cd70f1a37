// Command table, headers and P_CONNECTION_FEATURES (spec/wire-protocol-84.md §2, §3, §4.2, §6.2).
#include "wire.h"

#include <cstdio>
#include <cstring>

namespace udrbd::wire {

const char* ErrcName(Errc code) {
  switch (code) {
    case Errc::kWrongMagic: return "ERR_WIRE_MAGIC";
    case Errc::kHeaderPadding: return "ERR_WIRE_PADDING";
    case Errc::kBadLength: return "ERR_WIRE_LENGTH";
    case Errc::kUnknownCommand: return "ERR_WIRE_COMMAND";
    case Errc::kIncompatible: return "ERR_WIRE_INCOMPATIBLE";
    case Errc::kAuth: return "ERR_WIRE_AUTH";
    case Errc::kBitmap: return "ERR_WIRE_BITMAP";
    case Errc::kAlgorithm: return "ERR_WIRE_ALGORITHM";
    case Errc::kArgument: return "ERR_WIRE_ARGUMENT";
  }
  return "ERR_WIRE";
}

namespace {

// Largest digest any OpenSSL algorithm produces (EVP_MAX_MD_SIZE); bounds digest-carrying packets.
constexpr uint32_t kMaxDigest = 64;
constexpr uint32_t kMaxBitmapPayload = kSocketBufferSize - kH100Size;  // 4080

// §3, with payload sizes from §4. P_SIZES is listed as 32; FixedPayloadSize adds o_qlim.
constexpr CommandInfo kCommands[] = {
    {P_DATA, "P_DATA", Sock::kData, -1, kPDataSize + kMaxDigest + kMaxBioSize},
    {P_DATA_REPLY, "P_DATA_REPLY", Sock::kData, -1, kPDataSize + kMaxDigest + kMaxBioSize},
    {P_RS_DATA_REPLY, "P_RS_DATA_REPLY", Sock::kData, -1, kPDataSize + kMaxDigest + kMaxBioSize},
    {P_BARRIER, "P_BARRIER", Sock::kData, 8, 0},
    {P_BITMAP, "P_BITMAP", Sock::kData, -1, kMaxBitmapPayload},
    {P_BECOME_SYNC_TARGET, "P_BECOME_SYNC_TARGET", Sock::kNone, -1, 0},
    {P_BECOME_SYNC_SOURCE, "P_BECOME_SYNC_SOURCE", Sock::kNone, -1, 0},
    {P_UNPLUG_REMOTE, "P_UNPLUG_REMOTE", Sock::kData, 0, 0},
    {P_DATA_REQUEST, "P_DATA_REQUEST", Sock::kData, 24, 0},
    {P_RS_DATA_REQUEST, "P_RS_DATA_REQUEST", Sock::kData, 24, 0},
    {P_SYNC_PARAM, "P_SYNC_PARAM", Sock::kNone, -1, 0},
    {P_PROTOCOL, "P_PROTOCOL", Sock::kData, -1, 24 + 64},
    {P_UUIDS, "P_UUIDS", Sock::kData, 48, 0},
    {P_SIZES, "P_SIZES", Sock::kData, 32, 0},
    {P_STATE, "P_STATE", Sock::kData, 4, 0},
    {P_SYNC_UUID, "P_SYNC_UUID", Sock::kData, 8, 0},
    {P_AUTH_CHALLENGE, "P_AUTH_CHALLENGE", Sock::kData, -1, kMaxChallengeSize},
    {P_AUTH_RESPONSE, "P_AUTH_RESPONSE", Sock::kData, -1, kMaxDigest},
    {P_STATE_CHG_REQ, "P_STATE_CHG_REQ", Sock::kData, 8, 0},
    {P_PING, "P_PING", Sock::kMeta, 0, 0},
    {P_PING_ACK, "P_PING_ACK", Sock::kMeta, 0, 0},
    {P_RECV_ACK, "P_RECV_ACK", Sock::kMeta, 24, 0},
    {P_WRITE_ACK, "P_WRITE_ACK", Sock::kMeta, 24, 0},
    {P_RS_WRITE_ACK, "P_RS_WRITE_ACK", Sock::kMeta, 24, 0},
    {P_SUPERSEDED, "P_SUPERSEDED", Sock::kMeta, 24, 0},
    {P_NEG_ACK, "P_NEG_ACK", Sock::kMeta, 24, 0},
    {P_NEG_DREPLY, "P_NEG_DREPLY", Sock::kMeta, 24, 0},
    {P_NEG_RS_DREPLY, "P_NEG_RS_DREPLY", Sock::kMeta, 24, 0},
    {P_BARRIER_ACK, "P_BARRIER_ACK", Sock::kMeta, 8, 0},
    {P_STATE_CHG_REPLY, "P_STATE_CHG_REPLY", Sock::kMeta, 4, 0},
    {P_OV_REQUEST, "P_OV_REQUEST", Sock::kData, 24, 0},
    {P_OV_REPLY, "P_OV_REPLY", Sock::kData, -1, kPBlockReqSize + kMaxDigest},
    {P_OV_RESULT, "P_OV_RESULT", Sock::kMeta, 24, 0},
    {P_CSUM_RS_REQUEST, "P_CSUM_RS_REQUEST", Sock::kData, -1, kPBlockReqSize + kMaxDigest},
    {P_RS_IS_IN_SYNC, "P_RS_IS_IN_SYNC", Sock::kMeta, 24, 0},
    {P_SYNC_PARAM89, "P_SYNC_PARAM89", Sock::kData, 148, 0},
    {P_COMPRESSED_BITMAP, "P_COMPRESSED_BITMAP", Sock::kData, -1, kMaxBitmapPayload},
    {P_DELAY_PROBE, "P_DELAY_PROBE", Sock::kBoth, 8, 0},
    {P_OUT_OF_SYNC, "P_OUT_OF_SYNC", Sock::kData, 16, 0},
    {P_RS_CANCEL, "P_RS_CANCEL", Sock::kMeta, 24, 0},
    {P_CONN_ST_CHG_REQ, "P_CONN_ST_CHG_REQ", Sock::kData, 8, 0},
    {P_CONN_ST_CHG_REPLY, "P_CONN_ST_CHG_REPLY", Sock::kMeta, 4, 0},
    {P_RETRY_WRITE, "P_RETRY_WRITE", Sock::kMeta, 24, 0},
    {P_PROTOCOL_UPDATE, "P_PROTOCOL_UPDATE", Sock::kData, -1, 24 + 64},
    {P_TRIM, "P_TRIM", Sock::kData, 28, 0},
    {P_RS_THIN_REQ, "P_RS_THIN_REQ", Sock::kData, 24, 0},
    {P_RS_DEALLOCATED, "P_RS_DEALLOCATED", Sock::kData, 16, 0},
    // The 6.1 kernel has no P_WSAME handler: never valid.
    {P_WSAME, "P_WSAME", Sock::kNone, -1, 0},
    {P_ZEROES, "P_ZEROES", Sock::kData, 28, 0},
    {P_INITIAL_META, "P_INITIAL_META", Sock::kMeta, 0, 0},
    {P_INITIAL_DATA, "P_INITIAL_DATA", Sock::kData, 0, 0},
    {P_CONNECTION_FEATURES, "P_CONNECTION_FEATURES", Sock::kData, 72, 0},
};

std::string Fmt(const char* fmt, long long a = 0, long long b = 0, long long c = 0, long long d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d);
  return buf;
}

}  // namespace

const CommandInfo* FindCommand(uint16_t cmd) {
  for (const auto& c : kCommands) {
    if (c.cmd == cmd) return &c;
  }
  return nullptr;
}

const char* CommandName(uint16_t cmd) {
  const CommandInfo* c = FindCommand(cmd);
  return c ? c->name : "UNKNOWN";
}

int FixedPayloadSize(uint16_t cmd, uint32_t agreed_features) {
  const CommandInfo* c = FindCommand(cmd);
  if (!c) return -2;
  // P_SIZES carries the 24-byte o_qlim iff FF_WSAME was agreed (§4.2).
  if (cmd == P_SIZES) return (agreed_features & FF_WSAME) ? 56 : 32;
  return c->fixed_size;
}

int MetaPayloadSize(uint16_t cmd) {
  const CommandInfo* c = FindCommand(cmd);
  // P_INITIAL_META is an h80 classification packet, not a meta-socket packet after the handshake.
  if (!c || c->sock == Sock::kData || c->sock == Sock::kNone || cmd == P_INITIAL_META) return -1;
  return c->fixed_size;
}

uint32_t DataLength(uint16_t cmd, uint32_t size, uint32_t digest_size, uint32_t max_bio) {
  if (size < kPDataSize + digest_size) {
    throw WireError(Errc::kBadLength, std::string(CommandName(cmd)) +
                                          Fmt(": packet too short (%lld bytes, need %lld)", size,
                                              kPDataSize + digest_size));
  }
  uint32_t data = size - kPDataSize - digest_size;
  if (data % 512 != 0) {
    throw WireError(Errc::kBadLength, std::string(CommandName(cmd)) +
                                          Fmt(": data size %lld is not a multiple of 512", data));
  }
  if (data > max_bio) {
    throw WireError(Errc::kBadLength, std::string(CommandName(cmd)) +
                                          Fmt(": data size %lld exceeds max_bio_size %lld", data, max_bio));
  }
  return data;
}

void CheckPayloadSize(uint16_t cmd, uint32_t size, Sock sock, uint32_t agreed_features,
                      int digest_size, uint32_t max_bio) {
  const CommandInfo* c = FindCommand(cmd);
  if (sock == Sock::kMeta) {
    int want = MetaPayloadSize(cmd);
    if (want < 0) {
      throw WireError(Errc::kUnknownCommand,
                      std::string("Unexpected meta packet ") + CommandName(cmd) + Fmt(" (0x%04llx)", cmd));
    }
    if (uint32_t(want) != size) {
      throw WireError(Errc::kBadLength, Fmt("Wrong packet size on meta (c: %lld l: %lld)", cmd, size));
    }
    return;
  }
  if (!c || c->sock == Sock::kMeta || c->sock == Sock::kNone) {
    throw WireError(Errc::kUnknownCommand,
                    std::string("Unexpected data packet ") + CommandName(cmd) + Fmt(" (0x%04llx)", cmd));
  }
  int fixed = FixedPayloadSize(cmd, agreed_features);
  if (fixed >= 0) {
    if (uint32_t(fixed) != size) {
      throw WireError(Errc::kBadLength, std::string(CommandName(cmd)) +
                                            Fmt(": unexpected packet size %lld (expected %lld)", size, fixed));
    }
    return;
  }
  switch (cmd) {
    case P_DATA:
    case P_DATA_REPLY:
    case P_RS_DATA_REPLY:
      DataLength(cmd, size, digest_size < 0 ? 0 : uint32_t(digest_size), max_bio);
      return;
    case P_CSUM_RS_REQUEST:
    case P_OV_REPLY:
      if (size < kPBlockReqSize || (digest_size >= 0 && size != kPBlockReqSize + uint32_t(digest_size))) {
        throw WireError(Errc::kBadLength, std::string(CommandName(cmd)) + Fmt(": unexpected packet size %lld", size));
      }
      break;
    case P_AUTH_CHALLENGE:
      if (size < kChallengeSize) throw WireError(Errc::kBadLength, "AuthChallenge payload too small.");
      break;
    case P_PROTOCOL:
    case P_PROTOCOL_UPDATE:
      if (size < 25) throw WireError(Errc::kBadLength, std::string(CommandName(cmd)) + Fmt(": packet too short (%lld)", size));
      break;
    case P_COMPRESSED_BITMAP:
      if (size <= 1) throw WireError(Errc::kBadLength, "ReportCBitmap packet too small");
      break;
    default:
      break;
  }
  if (size > c->max_size) {
    throw WireError(Errc::kBadLength, std::string(CommandName(cmd)) +
                                          Fmt(": packet too large (%lld > %lld)", size, c->max_size));
  }
}

// ---- headers ----

size_t HeaderSize(int agreed) { return agreed >= 100 ? kH100Size : kH80Size; }

size_t EncodeHeader(int agreed, const Header& h, uint8_t* out) {
  if (agreed >= 100) {
    PutBE32(out, kMagic100);
    PutBE16(out + 4, h.volume);
    PutBE16(out + 6, h.command);
    PutBE32(out + 8, h.length);
    PutBE32(out + 12, 0);
    return kH100Size;
  }
  // h95 only exists at 95..99, for payloads that do not fit the h80 limit of 32 KiB.
  if (agreed >= 95 && h.length > 32768) {
    PutBE16(out, kMagic95);
    PutBE16(out + 2, h.command);
    PutBE32(out + 4, h.length);
    return kH80Size;
  }
  if (h.length > kMaxH80Payload) {
    throw WireError(Errc::kArgument, Fmt("payload of %lld bytes does not fit an h80 header", h.length));
  }
  PutBE32(out, kMagic80);
  PutBE16(out + 4, h.command);
  PutBE16(out + 6, uint16_t(h.length));
  return kH80Size;
}

std::vector<uint8_t> EncodeHeader(int agreed, const Header& h) {
  std::vector<uint8_t> out(HeaderSize(agreed));
  EncodeHeader(agreed, h, out.data());
  return out;
}

Header DecodeHeader(int agreed, const uint8_t* p, size_t n) {
  size_t want = HeaderSize(agreed);
  if (n != want) {
    throw WireError(Errc::kBadLength, Fmt("header of %lld bytes, expected %lld", n, want));
  }
  uint32_t magic = GetBE32(p);
  Header h;
  if (want == kH100Size && magic == kMagic100) {
    if (GetBE32(p + 12) != 0) throw WireError(Errc::kHeaderPadding, "Header padding is not zero");
    h.volume = GetBE16(p + 4);
    h.command = GetBE16(p + 6);
    h.length = GetBE32(p + 8);
    return h;
  }
  if (want == kH80Size && magic == kMagic80) {
    h.command = GetBE16(p + 4);
    h.length = GetBE16(p + 6);
    return h;
  }
  if (want == kH80Size && GetBE16(p) == kMagic95) {
    h.command = GetBE16(p + 2);
    h.length = GetBE32(p + 4);
    return h;
  }
  char buf[80];
  std::snprintf(buf, sizeof buf, "Wrong magic value 0x%08x in protocol version %d", magic, agreed);
  throw WireError(Errc::kWrongMagic, buf);
}

// ---- features ----

void EncodeFeatures(const Features& f, uint8_t out[kFeaturesSize]) {
  std::memset(out, 0, kFeaturesSize);
  PutBE32(out, f.protocol_min);
  PutBE32(out + 4, f.feature_flags);
  PutBE32(out + 8, f.protocol_max);
}

Features DecodeFeatures(const uint8_t* p, size_t n) {
  if (n != kFeaturesSize) {
    throw WireError(Errc::kBadLength,
                    Fmt("expected ConnectionFeatures length: %lld, received: %lld", kFeaturesSize, n));
  }
  Features f;
  f.protocol_min = GetBE32(p);
  f.feature_flags = GetBE32(p + 4);
  f.protocol_max = GetBE32(p + 8);
  return f;
}

Agreement Negotiate(const Features& mine, const Features& peer) {
  uint32_t peer_max = peer.protocol_max == 0 ? peer.protocol_min : peer.protocol_max;
  if (mine.protocol_max < peer.protocol_min || mine.protocol_min > peer_max) {
    throw WireError(Errc::kIncompatible, Fmt("incompatible DRBD dialects: I support %lld-%lld, peer supports %lld-%lld",
                                             mine.protocol_min, mine.protocol_max, peer.protocol_min, peer_max));
  }
  return Agreement{int(mine.protocol_max < peer_max ? mine.protocol_max : peer_max),
                   mine.feature_flags & peer.feature_flags};
}

}  // namespace udrbd::wire
