// The `wire` object exported to JS: the native codec's functions for the control plane (digest
// names, auth helpers for configuration checks) and for the golden tests. The peer link calls
// the C++ functions directly; this file only converts values.
//
// Conventions: u64 fields (sector) are BigInt; opaque fields (blockId, barrier) are Buffers of
// their raw wire bytes; errors are JS Errors whose `code` is the wire::ErrcName of the failure.
#include <napi.h>

#include <cstring>
#include <functional>
#include <string>

#include "crc32c.h"
#include "digest.h"
#include "exports.h"
#include "wire.h"
#include "wire_bitmap.h"

namespace udrbd {

namespace {

using namespace wire;

[[noreturn]] void BadArg(const std::string& msg) { throw WireError(Errc::kArgument, msg); }

// Runs f, turning C++ exceptions into JS exceptions (the addon is built without C++ exception
// support in node-addon-api, so each entry point catches for itself).
Napi::Value Guard(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& f) {
  Napi::Env env = info.Env();
  try {
    return f();
  } catch (const WireError& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Value().Set("code", Napi::String::New(env, ErrcName(e.code())));
    err.ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// Optional signed integer argument (digest sizes: -1 = "whatever is left").
int OptInt(const Napi::CallbackInfo& info, size_t i, int def) {
  if (info.Length() <= i || info[i].IsUndefined()) return def;
  if (!info[i].IsNumber()) BadArg("digestSize must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

uint32_t U32(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) BadArg(std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != double(uint64_t(d))) BadArg(std::string(what) + " must be a u32");
  return uint32_t(d);
}

uint64_t U64(const Napi::Value& v, const char* what) {
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) BadArg(std::string(what) + " must fit in a u64");
    return x;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0) || d != double(uint64_t(d))) BadArg(std::string(what) + " must be a u64");
    return uint64_t(d);
  }
  BadArg(std::string(what) + " must be a bigint");
}

Napi::Buffer<uint8_t> Buf(const Napi::Value& v, const char* what) {
  if (!v.IsBuffer()) BadArg(std::string(what) + " must be a Buffer");
  return v.As<Napi::Buffer<uint8_t>>();
}

std::string Str(const Napi::Value& v, const char* what) {
  if (!v.IsString()) BadArg(std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Object Obj(const Napi::Value& v, const char* what) {
  if (!v.IsObject()) BadArg(std::string(what) + " must be an object");
  return v.As<Napi::Object>();
}

uint64_t RawField(const Napi::Object& o, const char* key, size_t n) {
  Napi::Buffer<uint8_t> b = Buf(o.Get(key), key);
  if (b.Length() != n) BadArg(std::string(key) + " must be a Buffer of " + std::to_string(n) + " bytes");
  uint64_t raw = 0;
  std::memcpy(&raw, b.Data(), n);
  return raw;
}

Napi::Buffer<uint8_t> Bytes(Napi::Env env, const void* p, size_t n) {
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(p), n);
}
Napi::Buffer<uint8_t> Bytes(Napi::Env env, const std::vector<uint8_t>& v) { return Bytes(env, v.data(), v.size()); }
Napi::BigInt Big(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }

// The command number argument of decodePacket/encodePacket.
uint16_t CommandArg(const Napi::Value& v) {
  uint32_t cmd = U32(v, "command");
  if (cmd > 0xffff) BadArg("command must be a u16");
  return uint16_t(cmd);
}

// Native-owned packets that share one payload layout; kOther: a layout of its own (or not a
// native-owned packet). decodePacket and encodePacket both dispatch on this one list.
enum class Shape { kData, kBlockReq, kBlockAck, kBlockDesc, kTrim, kEmpty, kOther };

Shape ShapeOf(uint16_t cmd) {
  switch (cmd) {
    case P_DATA:
    case P_DATA_REPLY:
    case P_RS_DATA_REPLY:
      return Shape::kData;
    case P_DATA_REQUEST:
    case P_RS_DATA_REQUEST:
    case P_OV_REQUEST:
    case P_RS_THIN_REQ:
    case P_CSUM_RS_REQUEST:
    case P_OV_REPLY:
      return Shape::kBlockReq;
    case P_RECV_ACK:
    case P_WRITE_ACK:
    case P_RS_WRITE_ACK:
    case P_SUPERSEDED:
    case P_NEG_ACK:
    case P_NEG_DREPLY:
    case P_NEG_RS_DREPLY:
    case P_OV_RESULT:
    case P_RS_IS_IN_SYNC:
    case P_RS_CANCEL:
    case P_RETRY_WRITE:
      return Shape::kBlockAck;
    case P_OUT_OF_SYNC:
    case P_RS_DEALLOCATED:
      return Shape::kBlockDesc;
    case P_TRIM:
    case P_ZEROES:
      return Shape::kTrim;
    case P_PING:
    case P_PING_ACK:
    case P_UNPLUG_REMOTE:
    case P_INITIAL_DATA:
    case P_INITIAL_META:
      return Shape::kEmpty;
    default:
      return Shape::kOther;
  }
}

// P_CSUM_RS_REQUEST and P_OV_REPLY carry a digest after the p_block_req.
bool BlockReqHasDigest(uint16_t cmd) { return cmd == P_CSUM_RS_REQUEST || cmd == P_OV_REPLY; }

[[noreturn]] void NotNativeOwned(const char* fn, uint16_t cmd) {
  throw WireError(Errc::kUnknownCommand, std::string(fn) + ": " + CommandName(cmd) + " (0x" + std::to_string(cmd) +
                                             ") is not a native-owned packet");
}

void NeedEmpty(uint16_t cmd, size_t n) {
  if (n != 0) {
    throw WireError(Errc::kBadLength, std::string(CommandName(cmd)) + ": payload of " + std::to_string(n) +
                                          " bytes, expected none");
  }
}

// ---- packets ----

Napi::Object DataToJs(Napi::Env env, const PData& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("sector", Big(env, d.sector));
  o.Set("blockId", Bytes(env, &d.block_id, 8));
  o.Set("seqNum", d.seq_num);
  o.Set("dpFlags", d.dp_flags);
  return o;
}

PData DataFromJs(const Napi::Object& o) {
  return PData{U64(o.Get("sector"), "sector"), RawField(o, "blockId", 8), U32(o.Get("seqNum"), "seqNum"),
               U32(o.Get("dpFlags"), "dpFlags")};
}

// decodePacket(command, payload, digestSize = -1 for "the rest"/0 for P_DATA*)
Napi::Value DecodePacket(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    uint16_t cmd = CommandArg(info[0]);
    Napi::Buffer<uint8_t> buf = Buf(info[1], "payload");
    int digest = OptInt(info, 2, -1);
    const uint8_t* p = buf.Data();
    size_t n = buf.Length();
    Napi::Object o = Napi::Object::New(env);
    switch (ShapeOf(cmd)) {
      case Shape::kData: {
        uint32_t ds = digest < 0 ? 0 : uint32_t(digest);
        uint32_t len = DataLength(cmd, uint32_t(n), ds);
        o = DataToJs(env, DecodePData(p, n));
        o.Set("digest", Bytes(env, p + kPDataSize, ds));
        o.Set("data", Bytes(env, p + kPDataSize + ds, len));
        return o;
      }
      case Shape::kBlockReq: {
        bool with_digest = BlockReqHasDigest(cmd);
        if (!with_digest && n != kPBlockReqSize) CheckPayloadSize(cmd, uint32_t(n), Sock::kData, 0);
        if (with_digest) CheckPayloadSize(cmd, uint32_t(n), Sock::kData, 0, digest);
        PBlockReq r = DecodePBlockReq(p, n);
        o.Set("sector", Big(env, r.sector));
        o.Set("blockId", Bytes(env, &r.block_id, 8));
        o.Set("blksize", r.blksize);
        o.Set("pad", r.pad);
        if (with_digest) o.Set("digest", Bytes(env, p + kPBlockReqSize, n - kPBlockReqSize));
        return o;
      }
      case Shape::kBlockAck: {
        CheckPayloadSize(cmd, uint32_t(n), Sock::kMeta, 0);
        PBlockAck a = DecodePBlockAck(p, n);
        o.Set("sector", Big(env, a.sector));
        o.Set("blockId", Bytes(env, &a.block_id, 8));
        o.Set("blksize", a.blksize);
        o.Set("seqNum", a.seq_num);
        return o;
      }
      case Shape::kBlockDesc: {
        PBlockDesc d = DecodePBlockDesc(p, n);
        o.Set("sector", Big(env, d.sector));
        o.Set("blksize", d.blksize);
        return o;
      }
      case Shape::kTrim: {
        PTrim t = DecodePTrim(p, n);
        o = DataToJs(env, t.data);
        o.Set("size", t.size);
        return o;
      }
      case Shape::kEmpty:
        NeedEmpty(cmd, n);
        return o;
      case Shape::kOther:
        break;
    }
    switch (cmd) {
      case P_BARRIER: {
        PBarrier b = DecodePBarrier(p, n);
        o.Set("barrier", Bytes(env, &b.barrier, 4));
        return o;
      }
      case P_BARRIER_ACK: {
        PBarrierAck b = DecodePBarrierAck(p, n);
        o.Set("barrier", Bytes(env, &b.barrier, 4));
        o.Set("setSize", b.set_size);
        return o;
      }
      case P_DELAY_PROBE: {
        PDelayProbe d = DecodePDelayProbe(p, n);
        o.Set("seqNum", d.seq_num);
        o.Set("offset", d.offset);
        return o;
      }
      case P_CONNECTION_FEATURES: {
        Features f = DecodeFeatures(p, n);
        o.Set("protocolMin", f.protocol_min);
        o.Set("featureFlags", f.feature_flags);
        o.Set("protocolMax", f.protocol_max);
        return o;
      }
      case P_AUTH_CHALLENGE:
        CheckPeerChallenge(p, n, {});
        o.Set("challenge", Bytes(env, p, n));
        return o;
      case P_AUTH_RESPONSE:
        CheckPayloadSize(cmd, uint32_t(n), Sock::kData, 0);
        if (n == 0) throw WireError(Errc::kAuth, "expected AuthResponse payload of wrong size");
        o.Set("response", Bytes(env, p, n));
        return o;
      case P_BITMAP:
        if (n % 8 != 0 || n > kBitmapMaxPayload) {
          throw WireError(Errc::kBadLength, "P_BITMAP: payload of " + std::to_string(n) + " bytes is not whole words <= 4080");
        }
        o.Set("words", Bytes(env, p, n));
        return o;
      case P_COMPRESSED_BITMAP: {
        CheckPayloadSize(cmd, uint32_t(n), Sock::kData, 0);
        RleChunk c = DecodeRlePayload(p, n);
        o.Set("firstSet", c.first_set);
        Napi::Array runs = Napi::Array::New(env, c.runs.size());
        for (size_t i = 0; i < c.runs.size(); i++) runs.Set(uint32_t(i), Napi::Number::New(env, double(c.runs[i])));
        o.Set("runs", runs);
        return o;
      }
      default:
        NotNativeOwned("decodePacket", cmd);
    }
  });
}

Napi::Value EncodePacket(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    uint16_t cmd = CommandArg(info[0]);
    Napi::Object o = info.Length() > 1 && !info[1].IsUndefined() ? Obj(info[1], "fields") : Napi::Object::New(env);
    std::vector<uint8_t> out;
    auto optBuf = [&](const char* key) -> std::vector<uint8_t> {
      Napi::Value v = o.Get(key);
      if (v.IsUndefined()) return {};
      Napi::Buffer<uint8_t> b = Buf(v, key);
      return {b.Data(), b.Data() + b.Length()};
    };
    switch (ShapeOf(cmd)) {
      case Shape::kData: {
        std::vector<uint8_t> digest = optBuf("digest"), data = optBuf("data");
        out.resize(kPDataSize);
        Encode(DataFromJs(o), out.data());
        out.insert(out.end(), digest.begin(), digest.end());
        out.insert(out.end(), data.begin(), data.end());
        DataLength(cmd, uint32_t(out.size()), uint32_t(digest.size()));
        return Bytes(env, out);
      }
      case Shape::kBlockReq: {
        out.resize(kPBlockReqSize);
        uint32_t pad = o.Get("pad").IsUndefined() ? 0 : U32(o.Get("pad"), "pad");
        Encode(PBlockReq{U64(o.Get("sector"), "sector"), RawField(o, "blockId", 8), U32(o.Get("blksize"), "blksize"), pad},
               out.data());
        if (BlockReqHasDigest(cmd)) {
          std::vector<uint8_t> digest = optBuf("digest");
          out.insert(out.end(), digest.begin(), digest.end());
        }
        return Bytes(env, out);
      }
      case Shape::kBlockAck:
        out.resize(kPBlockAckSize);
        Encode(PBlockAck{U64(o.Get("sector"), "sector"), RawField(o, "blockId", 8), U32(o.Get("blksize"), "blksize"),
                         U32(o.Get("seqNum"), "seqNum")},
               out.data());
        return Bytes(env, out);
      case Shape::kBlockDesc:
        out.resize(kPBlockDescSize);
        Encode(PBlockDesc{U64(o.Get("sector"), "sector"), U32(o.Get("blksize"), "blksize")}, out.data());
        return Bytes(env, out);
      case Shape::kTrim:
        out.resize(kPTrimSize);
        Encode(PTrim{DataFromJs(o), U32(o.Get("size"), "size")}, out.data());
        return Bytes(env, out);
      case Shape::kEmpty:
        return Bytes(env, out);
      case Shape::kOther:
        break;
    }
    switch (cmd) {
      case P_BARRIER:
        out.resize(kPBarrierSize);
        Encode(PBarrier{uint32_t(RawField(o, "barrier", 4))}, out.data());
        break;
      case P_BARRIER_ACK:
        out.resize(kPBarrierAckSize);
        Encode(PBarrierAck{uint32_t(RawField(o, "barrier", 4)), U32(o.Get("setSize"), "setSize")}, out.data());
        break;
      case P_DELAY_PROBE:
        out.resize(kPDelayProbeSize);
        Encode(PDelayProbe{U32(o.Get("seqNum"), "seqNum"), U32(o.Get("offset"), "offset")}, out.data());
        break;
      case P_CONNECTION_FEATURES:
        out.resize(kFeaturesSize);
        EncodeFeatures(Features{U32(o.Get("protocolMin"), "protocolMin"), U32(o.Get("featureFlags"), "featureFlags"),
                                U32(o.Get("protocolMax"), "protocolMax")},
                       out.data());
        break;
      case P_AUTH_CHALLENGE:
        out = optBuf("challenge");
        break;
      case P_AUTH_RESPONSE:
        out = optBuf("response");
        break;
      case P_BITMAP:
        out = optBuf("words");
        if (out.size() % 8 != 0 || out.size() > kBitmapMaxPayload) BadArg("words must be whole 8-byte words, <= 4080 bytes");
        break;
      case P_COMPRESSED_BITMAP: {
        RleChunk c;
        c.first_set = o.Get("firstSet").ToBoolean().Value();
        Napi::Value rv = o.Get("runs");
        if (!rv.IsArray()) BadArg("runs must be an array");
        Napi::Array runs = rv.As<Napi::Array>();
        for (uint32_t i = 0; i < runs.Length(); i++) c.runs.push_back(U64(runs.Get(i), "run"));
        out = EncodeRlePayload(c);
        break;
      }
      default:
        NotNativeOwned("encodePacket", cmd);
    }
    return Bytes(env, out);
  });
}

// ---- headers, features, tables ----

Napi::Value JsHeaderSize(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), double(HeaderSize(int(U32(info[0], "agreed")))));
  });
}

// encodeHeader(agreed, command, length, volume = 0)
Napi::Value JsEncodeHeader(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Header h;
    uint32_t cmd = U32(info[1], "command");
    uint32_t vol = info.Length() > 3 && !info[3].IsUndefined() ? U32(info[3], "volume") : 0;
    if (cmd > 0xffff || vol > 0xffff) BadArg("command and volume must be u16");
    h.command = uint16_t(cmd);
    h.volume = uint16_t(vol);
    h.length = U32(info[2], "length");
    return Bytes(info.Env(), EncodeHeader(int(U32(info[0], "agreed")), h));
  });
}

// decodeHeader(agreed, bytes) -> { command, volume, length }
Napi::Value JsDecodeHeader(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Buffer<uint8_t> b = Buf(info[1], "header");
    Header h = DecodeHeader(int(U32(info[0], "agreed")), b.Data(), b.Length());
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("command", h.command);
    o.Set("volume", h.volume);
    o.Set("length", h.length);
    return o;
  });
}

Napi::Value JsCommandName(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), CommandName(uint16_t(U32(info[0], "command"))));
  });
}

Napi::Value JsMetaPayloadSize(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), MetaPayloadSize(uint16_t(U32(info[0], "command"))));
  });
}

Napi::Value JsFixedPayloadSize(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    uint32_t features = info.Length() > 1 && !info[1].IsUndefined() ? U32(info[1], "features") : 0;
    return Napi::Number::New(info.Env(), FixedPayloadSize(uint16_t(U32(info[0], "command")), features));
  });
}

// checkPayloadSize(command, size, sock 'data'|'meta', features = 0, digestSize = -1)
Napi::Value JsCheckPayloadSize(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    std::string sock = Str(info[2], "sock");
    if (sock != "data" && sock != "meta") BadArg("sock must be 'data' or 'meta'");
    uint32_t features = info.Length() > 3 && !info[3].IsUndefined() ? U32(info[3], "features") : 0;
    int digest = OptInt(info, 4, -1);
    CheckPayloadSize(uint16_t(U32(info[0], "command")), U32(info[1], "size"),
                     sock == "meta" ? Sock::kMeta : Sock::kData, features, digest);
    return info.Env().Undefined();
  });
}

Features FeaturesFromJs(const Napi::Value& v) {
  Napi::Object o = Obj(v, "features");
  return Features{U32(o.Get("protocolMin"), "protocolMin"), U32(o.Get("featureFlags"), "featureFlags"),
                  U32(o.Get("protocolMax"), "protocolMax")};
}

Napi::Value JsNegotiate(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Agreement a = Negotiate(FeaturesFromJs(info[0]), FeaturesFromJs(info[1]));
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("version", a.version);
    o.Set("features", a.features);
    return o;
  });
}

// ---- auth, digests ----

Napi::Value JsMakeChallenge(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value { return Bytes(info.Env(), MakeChallenge()); });
}

Napi::Value JsCheckPeerChallenge(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Buffer<uint8_t> peer = Buf(info[0], "peerChallenge");
    Napi::Buffer<uint8_t> own = Buf(info[1], "ownChallenge");
    CheckPeerChallenge(peer.Data(), peer.Length(), std::vector<uint8_t>(own.Data(), own.Data() + own.Length()));
    return info.Env().Undefined();
  });
}

Napi::Value JsAuthResponse(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Buffer<uint8_t> ch = Buf(info[2], "peerChallenge");
    return Bytes(info.Env(), AuthResponse(Str(info[0], "alg"), Str(info[1], "secret"), ch.Data(), ch.Length()));
  });
}

Napi::Value JsVerifyAuthResponse(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Buffer<uint8_t> own = Buf(info[2], "ownChallenge");
    Napi::Buffer<uint8_t> resp = Buf(info[3], "response");
    bool ok = VerifyAuthResponse(Str(info[0], "alg"), Str(info[1], "secret"),
                                 std::vector<uint8_t>(own.Data(), own.Data() + own.Length()), resp.Data(), resp.Length());
    return Napi::Boolean::New(info.Env(), ok);
  });
}

Napi::Value JsDigest(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Buffer<uint8_t> d = Buf(info[1], "data");
    return Bytes(info.Env(), Digest(Str(info[0], "alg"), d.Data(), d.Length()));
  });
}

Napi::Value JsDigestSize(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), double(DigestSize(Str(info[0], "alg"))));
  });
}

Napi::Value JsHmac(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Buffer<uint8_t> key = Buf(info[1], "key");
    Napi::Buffer<uint8_t> d = Buf(info[2], "data");
    return Bytes(info.Env(), Hmac(Str(info[0], "alg"), key.Data(), key.Length(), d.Data(), d.Length()));
  });
}

Napi::Value JsCrc32c(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Buffer<uint8_t> d = Buf(info[0], "data");
    uint32_t seed = info.Length() > 1 && !info[1].IsUndefined() ? U32(info[1], "crc") : 0;
    return Napi::Number::New(info.Env(), Crc32c(d.Data(), d.Length(), seed));
  });
}

// ---- bitmap ----

// encodeBitmap(bits: Buffer (LSB-first bitmap bytes), nbits, useRle) -> [{command, payload}]
Napi::Value JsEncodeBitmap(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Buffer<uint8_t> bits = Buf(info[0], "bits");
    uint64_t nbits = U64(info[1], "nbits");
    if (!info[2].IsBoolean()) BadArg("useRle must be a boolean");
    if (bits.Length() * 8 < nbits) BadArg("bits buffer is shorter than nbits");
    std::vector<uint64_t> words(BitmapWords(nbits), 0);
    for (uint64_t i = 0; i < uint64_t(words.size()) * 8 && i < bits.Length(); i++) {
      words[i / 8] |= uint64_t(bits.Data()[i]) << (8 * (i % 8));
    }
    std::vector<BitmapPacket> pkts = EncodeBitmap(words.data(), nbits, info[2].As<Napi::Boolean>().Value());
    Napi::Array arr = Napi::Array::New(env, pkts.size());
    for (size_t i = 0; i < pkts.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("command", pkts[i].command);
      o.Set("payload", Bytes(env, pkts[i].payload));
      arr.Set(uint32_t(i), o);
    }
    return arr;
  });
}

// decodeBitmapPackets([{command, payload}], nbits) -> Buffer of ceil(nbits/64) LE words.
// Throws unless the packets form exactly one complete transfer.
Napi::Value JsDecodeBitmapPackets(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    if (!info[0].IsArray()) BadArg("packets must be an array");
    Napi::Array arr = info[0].As<Napi::Array>();
    BitmapDecoder dec(U64(info[1], "nbits"));
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Object o = Obj(arr.Get(i), "packet");
      Napi::Buffer<uint8_t> p = Buf(o.Get("payload"), "payload");
      if (dec.Done()) throw WireError(Errc::kBitmap, "bitmap packet after the transfer was complete");
      dec.Receive(uint16_t(U32(o.Get("command"), "command")), p.Data(), p.Length());
    }
    if (!dec.Done()) throw WireError(Errc::kBitmap, "bitmap transfer incomplete");
    std::vector<uint8_t> out(dec.words().size() * 8);
    for (size_t i = 0; i < dec.words().size(); i++) {
      for (int b = 0; b < 8; b++) out[i * 8 + size_t(b)] = uint8_t(dec.words()[i] >> (8 * b));
    }
    return Bytes(info.Env(), out);
  });
}

}  // namespace

void RegisterWire(Napi::Env env, Napi::Object exports) {
  Napi::Object w = Napi::Object::New(env);
  auto fn = [&](const char* name, Napi::Function::Callback cb) { w.Set(name, Napi::Function::New(env, cb, name)); };
  fn("headerSize", JsHeaderSize);
  fn("encodeHeader", JsEncodeHeader);
  fn("decodeHeader", JsDecodeHeader);
  fn("commandName", JsCommandName);
  fn("metaPayloadSize", JsMetaPayloadSize);
  fn("fixedPayloadSize", JsFixedPayloadSize);
  fn("checkPayloadSize", JsCheckPayloadSize);
  fn("negotiate", JsNegotiate);
  fn("decodePacket", DecodePacket);
  fn("encodePacket", EncodePacket);
  fn("makeChallenge", JsMakeChallenge);
  fn("checkPeerChallenge", JsCheckPeerChallenge);
  fn("authResponse", JsAuthResponse);
  fn("verifyAuthResponse", JsVerifyAuthResponse);
  fn("digest", JsDigest);
  fn("digestSize", JsDigestSize);
  fn("hmac", JsHmac);
  fn("crc32c", JsCrc32c);
  fn("encodeBitmap", JsEncodeBitmap);
  fn("decodeBitmapPackets", JsDecodeBitmapPackets);
  exports.Set("wire", w);
}

}  // namespace udrbd
