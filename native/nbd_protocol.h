// Constants of the NBD protocol (newstyle fixed handshake, simple replies), as numbers on the
// wire. All integers on the wire are big-endian.
#pragma once
#include <cstdint>

namespace udrbd::nbd {

constexpr uint64_t kNbdMagic = 0x4e42444d41474943ull;    // "NBDMAGIC"
constexpr uint64_t kOptMagic = 0x49484156454f5054ull;    // "IHAVEOPT"
constexpr uint64_t kOptReplyMagic = 0x0003e889045565a9ull;
constexpr uint32_t kRequestMagic = 0x25609513u;
constexpr uint32_t kSimpleReplyMagic = 0x67446698u;

// Handshake flags (server) and client flags.
constexpr uint16_t kFlagFixedNewstyle = 1u << 0;
constexpr uint16_t kFlagNoZeroes = 1u << 1;
constexpr uint32_t kClientFixedNewstyle = 1u << 0;
constexpr uint32_t kClientNoZeroes = 1u << 1;

// Options.
constexpr uint32_t kOptExportName = 1;
constexpr uint32_t kOptAbort = 2;
constexpr uint32_t kOptList = 3;
constexpr uint32_t kOptStartTls = 5;
constexpr uint32_t kOptInfo = 6;
constexpr uint32_t kOptGo = 7;

// Option replies.
constexpr uint32_t kRepAck = 1;
constexpr uint32_t kRepServer = 2;
constexpr uint32_t kRepInfo = 3;
constexpr uint32_t kRepErrUnsup = 0x80000001u;
constexpr uint32_t kRepErrPolicy = 0x80000002u;
constexpr uint32_t kRepErrInvalid = 0x80000003u;
constexpr uint32_t kRepErrUnknown = 0x80000006u;

// NBD_REP_INFO types.
constexpr uint16_t kInfoExport = 0;
constexpr uint16_t kInfoBlockSize = 3;

// Transmission flags.
constexpr uint16_t kTxHasFlags = 1u << 0;
constexpr uint16_t kTxReadOnly = 1u << 1;
constexpr uint16_t kTxSendFlush = 1u << 2;
constexpr uint16_t kTxSendFua = 1u << 3;
constexpr uint16_t kTxSendTrim = 1u << 5;
constexpr uint16_t kTxSendWriteZeroes = 1u << 6;
constexpr uint16_t kTxCanMultiConn = 1u << 8;

// Commands and command flags.
constexpr uint16_t kCmdRead = 0;
constexpr uint16_t kCmdWrite = 1;
constexpr uint16_t kCmdDisc = 2;
constexpr uint16_t kCmdFlush = 3;
constexpr uint16_t kCmdTrim = 4;
constexpr uint16_t kCmdWriteZeroes = 6;
constexpr uint16_t kCmdFlagFua = 1u << 0;
constexpr uint16_t kCmdFlagNoHole = 1u << 1;

// Error values in replies (the protocol's own numbering, equal to Linux errno).
constexpr uint32_t kEPerm = 1;
constexpr uint32_t kEIO = 5;
constexpr uint32_t kENoMem = 12;
constexpr uint32_t kEInval = 22;
constexpr uint32_t kENoSpc = 28;
constexpr uint32_t kEOverflow = 75;
constexpr uint32_t kENotSup = 95;
constexpr uint32_t kEShutdown = 108;

constexpr uint32_t kRequestBytes = 28;
constexpr uint32_t kSimpleReplyBytes = 16;
// Largest payload a client may send or ask for; also advertised as the maximum block size.
constexpr uint32_t kMaxPayload = 32u << 20;
constexpr uint32_t kMaxOptionBytes = 64u << 10;

}  // namespace udrbd::nbd
