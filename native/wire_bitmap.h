// Bitmap exchange codec (spec/wire-protocol-84.md §9): plain P_BITMAP chunks and RLE/VLI
// P_COMPRESSED_BITMAP packets, sender and receiver side.
//
// A bitmap is held as 64-bit words: bit i of the bitmap = bit (i % 64) of words[i / 64]; on the
// wire (plain) every word is little-endian, so the byte stream is the bitmap in LSB-first order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace udrbd::wire {

constexpr uint32_t kBitmapMaxPayload = 4080;  // DRBD_SOCKET_BUFFER_SIZE - h100 header
constexpr uint8_t kRleVliBits = 2;            // the only encoding defined for 8.4

struct BitmapPacket {
  uint16_t command;  // P_BITMAP or P_COMPRESSED_BITMAP
  std::vector<uint8_t> payload;
};

inline uint64_t BitmapWords(uint64_t nbits) { return (nbits + 63) / 64; }

// Produces the packets the kernel would send for this bitmap, one at a time, so the peer link
// can stream them: with use_rle, RLE/VLI packets of up to max_payload bytes, falling back to a
// plain chunk wherever a compressed packet would not beat plain (it then resumes compressing at
// the next word); a transfer ending on a plain chunk gets one empty P_BITMAP as terminator, one
// ending on a compressed packet none. Bits beyond nbits are sent as 0. `words` must stay valid
// (and unchanged) until Done().
class BitmapEncoder {
 public:
  BitmapEncoder(const uint64_t* words, uint64_t nbits, bool use_rle, uint32_t max_payload = kBitmapMaxPayload);
  bool Done() const { return done_; }
  BitmapPacket Next();

 private:
  bool TryRle(BitmapPacket* out);
  BitmapPacket Plain();
  bool Bit(uint64_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  uint64_t NextChange(uint64_t from, bool value) const;  // first i >= from with Bit(i) != value

  const uint64_t* words_;
  uint64_t nbits_, nwords_;
  bool use_rle_;
  uint32_t max_payload_;
  uint64_t bit_offset_ = 0, word_offset_ = 0;
  bool done_ = false;
};

std::vector<BitmapPacket> EncodeBitmap(const uint64_t* words, uint64_t nbits, bool use_rle,
                                       uint32_t max_payload = kBitmapMaxPayload);

// Receives a bitmap transfer: feed every P_BITMAP / P_COMPRESSED_BITMAP payload in order;
// Receive() returns true once the transfer is complete. The received bits are OR-ed into
// words() (so overlapping chunks are harmless). Throws WireError(kBitmap / kBadLength) on a
// malformed packet, with the kernel's wording where it has one.
class BitmapDecoder {
 public:
  explicit BitmapDecoder(uint64_t nbits, uint32_t max_payload = kBitmapMaxPayload);
  bool Receive(uint16_t command, const uint8_t* p, size_t n);
  bool Done() const { return done_; }
  uint64_t bit_offset() const { return bit_offset_; }
  const std::vector<uint64_t>& words() const { return words_; }

 private:
  bool Plain(const uint8_t* p, size_t n);
  bool Compressed(const uint8_t* p, size_t n);

  uint64_t nbits_, nwords_;
  uint32_t max_payload_;
  std::vector<uint64_t> words_;
  uint64_t bit_offset_ = 0, word_offset_ = 0;
  bool done_ = false;
};

// One P_COMPRESSED_BITMAP payload as runs (for diagnostics and tests).
struct RleChunk {
  bool first_set = false;  // polarity of the first run
  std::vector<uint64_t> runs;
};
RleChunk DecodeRlePayload(const uint8_t* p, size_t n);
std::vector<uint8_t> EncodeRlePayload(const RleChunk& c);

// VLI code of one run length (1 .. 72057611219902768): returns the number of bits (2..64) and
// the code in *code, LSB = first bit in the stream. 0 for an unencodable value.
int VliEncode(uint64_t value, uint64_t* code);
// Decodes one VLI from a look-ahead word (LSB first). Returns the bits consumed, or 0 if the
// look-ahead holds fewer than the needed `have` bits.
int VliDecode(uint64_t lookahead, int have, uint64_t* value);

}  // namespace udrbd::wire
