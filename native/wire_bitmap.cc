// Bitmap transfer codec. Behaviour (chunk sizes, terminator, compress-or-plain decision, restart
// positions) follows spec/wire-protocol-84.md §9, checked against the kernel captures.
#include "wire_bitmap.h"

#include <cstring>
#include <string>

#include "wire.h"

namespace udrbd::wire {

namespace {

// VLI levels (§9): prefix bits as read LSB-first from the stream, prefix length, data bits, and
// the smallest run length of the level (1 + the sizes of all previous levels).
struct Level {
  uint64_t prefix;
  int prefix_bits;
  int data_bits;
  uint64_t base;
};
constexpr Level kLevels[] = {
    {0x00, 1, 1, 1},
    {0x01, 2, 1, 3},
    {0x03, 3, 2, 5},
    {0x07, 4, 3, 9},
    {0x0f, 5, 5, 17},
    {0x1f, 6, 8, 49},
    {0x3f, 8, 13, 305},
    {0x7f, 8, 21, 8497},
    {0xbf, 8, 34, 2105649},
    {0xff, 8, 56, 17181974833ull},
};

uint64_t LoadLE64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
void StoreLE64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (8 * i));
}

// Little-endian bit stream writer into a fixed-capacity buffer.
class BitWriter {
 public:
  explicit BitWriter(size_t capacity) : buf_(capacity, 0) {}
  bool Put(uint64_t v, int bits) {
    if (bit_ + uint64_t(bits) > uint64_t(buf_.size()) * 8) return false;
    for (int i = 0; i < bits; i++, bit_++) {
      if ((v >> i) & 1) buf_[bit_ >> 3] |= uint8_t(1u << (bit_ & 7));
    }
    return true;
  }
  uint64_t bits() const { return bit_; }
  std::vector<uint8_t> Bytes() const { return {buf_.begin(), buf_.begin() + long((bit_ + 7) / 8)}; }

 private:
  std::vector<uint8_t> buf_;
  uint64_t bit_ = 0;
};

// Reads up to 64 bits at a bit position of a byte stream with `total` valid bits.
uint64_t PeekBits(const uint8_t* p, uint64_t total, uint64_t pos, int* have) {
  uint64_t avail = total - pos;
  int n = avail < 64 ? int(avail) : 64;
  uint64_t v = 0;
  for (int i = 0; i < n; i++) {
    uint64_t b = pos + uint64_t(i);
    v |= uint64_t((p[b >> 3] >> (b & 7)) & 1) << i;
  }
  *have = n;
  return v;
}

// ORs bits [s, e) into the words, a word at a time.
void SetRange(std::vector<uint64_t>& w, uint64_t s, uint64_t e) {
  while (s < e) {
    unsigned b = unsigned(s & 63);
    uint64_t n = e - s < 64 - b ? e - s : 64 - b;
    uint64_t mask = n == 64 ? ~0ull : ((1ull << n) - 1) << b;
    w[s >> 6] |= mask;
    s += n;
  }
}

[[noreturn]] void Fail(const std::string& msg) { throw WireError(Errc::kBitmap, msg); }

}  // namespace

int VliEncode(uint64_t value, uint64_t* code) {
  if (value == 0) return 0;
  for (const Level& l : kLevels) {
    if (value >= l.base && value - l.base < (1ull << l.data_bits)) {
      *code = l.prefix | ((value - l.base) << l.prefix_bits);
      return l.prefix_bits + l.data_bits;
    }
  }
  return 0;
}

int VliDecode(uint64_t la, int have, uint64_t* value) {
  // The number of leading 1 bits (up to 6) selects the level; after six 1s, bit 6 and bit 7
  // (as b6 | b7 << 1) pick one of the four 8-bit prefixes.
  int ones = 0;
  while (ones < 6 && ((la >> ones) & 1)) ones++;
  const Level* lv = ones < 6 ? &kLevels[ones] : &kLevels[6 + ((la >> 6) & 3)];
  int total = lv->prefix_bits + lv->data_bits;
  if (total > have) return 0;
  uint64_t data = (la >> lv->prefix_bits) & ((1ull << lv->data_bits) - 1);
  *value = data + lv->base;
  return total;
}

// ---- encoder ----

BitmapEncoder::BitmapEncoder(const uint64_t* words, uint64_t nbits, bool use_rle, uint32_t max_payload)
    : words_(words), nbits_(nbits), nwords_(BitmapWords(nbits)), use_rle_(use_rle), max_payload_(max_payload) {
  if (max_payload_ < 16 || max_payload_ % 8 != 0) {
    throw WireError(Errc::kArgument, "bitmap packet size must be a multiple of 8, at least 16");
  }
}

uint64_t BitmapEncoder::NextChange(uint64_t from, bool value) const {
  uint64_t i = from;
  // Skip whole words that are all `value` (bits beyond nbits are masked by the caller's bound).
  while (i < nbits_) {
    uint64_t w = words_[i >> 6];
    if (value) w = ~w;
    w &= ~0ull << (i & 63);  // ignore bits before i
    if (w) {
      uint64_t hit = (i & ~63ull) + uint64_t(__builtin_ctzll(w));
      return hit < nbits_ ? hit : nbits_;
    }
    i = (i & ~63ull) + 64;
  }
  return nbits_;
}

bool BitmapEncoder::TryRle(BitmapPacket* out) {
  const uint64_t start = bit_offset_;
  BitWriter bw(max_payload_ - 1);
  uint64_t pos = start, covered = 0;
  bool first_set = Bit(start);
  bool value = first_set;  // polarity of the run being measured
  while (pos < nbits_) {
    uint64_t end = NextChange(pos, value);
    uint64_t code;
    int bits = VliEncode(end - pos, &code);
    if (bits == 0) Fail("bitmap run length cannot be encoded");
    if (!bw.Put(code, bits)) break;  // packet full
    covered += end - pos;
    pos = end;
    value = !value;
  }
  std::vector<uint8_t> code = bw.Bytes();
  // Not worth it: a plain chunk carries 8 bits per byte. Restart plain at the word boundary.
  if (covered < uint64_t(code.size()) * 8) {
    word_offset_ = start / 64;
    bit_offset_ = word_offset_ * 64;
    return false;
  }
  out->command = P_COMPRESSED_BITMAP;
  out->payload.resize(1 + code.size());
  unsigned pad = unsigned((8 - (bw.bits() & 7)) & 7);
  out->payload[0] = uint8_t(kRleVliBits | (pad << 4) | (first_set ? 0x80 : 0));
  std::memcpy(out->payload.data() + 1, code.data(), code.size());
  bit_offset_ = pos;
  word_offset_ = pos / 64;
  if (bit_offset_ >= nbits_) done_ = true;  // a compressed transfer has no terminator
  return true;
}

BitmapPacket BitmapEncoder::Plain() {
  uint64_t left = nwords_ - word_offset_;
  uint64_t n = left < max_payload_ / 8 ? left : max_payload_ / 8;
  BitmapPacket pk{P_BITMAP, std::vector<uint8_t>(n * 8)};
  for (uint64_t i = 0; i < n; i++) {
    uint64_t w = words_[word_offset_ + i];
    uint64_t first_bit = (word_offset_ + i) * 64;
    if (first_bit + 64 > nbits_) w &= ~0ull >> (64 - (nbits_ - first_bit));  // bits past nbits are 0
    StoreLE64(pk.payload.data() + i * 8, w);
  }
  word_offset_ += n;
  bit_offset_ = word_offset_ * 64 < nbits_ ? word_offset_ * 64 : nbits_;
  if (n == 0) done_ = true;  // this was the empty terminator
  return pk;
}

BitmapPacket BitmapEncoder::Next() {
  if (done_) throw WireError(Errc::kArgument, "bitmap transfer already complete");
  BitmapPacket pk;
  if (use_rle_ && bit_offset_ < nbits_ && TryRle(&pk)) return pk;
  return Plain();
}

std::vector<BitmapPacket> EncodeBitmap(const uint64_t* words, uint64_t nbits, bool use_rle, uint32_t max_payload) {
  BitmapEncoder enc(words, nbits, use_rle, max_payload);
  std::vector<BitmapPacket> out;
  while (!enc.Done()) out.push_back(enc.Next());
  return out;
}

// ---- decoder ----

BitmapDecoder::BitmapDecoder(uint64_t nbits, uint32_t max_payload)
    : nbits_(nbits), nwords_(BitmapWords(nbits)), max_payload_(max_payload), words_(nwords_, 0) {}

bool BitmapDecoder::Receive(uint16_t command, const uint8_t* p, size_t n) {
  if (done_) Fail("bitmap packet after the transfer was complete");
  if (command == P_BITMAP) {
    done_ = Plain(p, n);
  } else if (command == P_COMPRESSED_BITMAP) {
    done_ = Compressed(p, n);
  } else {
    Fail("receive_bitmap: cmd neither ReportBitMap nor ReportCBitMap (is 0x" + std::to_string(command) + ")");
  }
  return done_;
}

bool BitmapDecoder::Plain(const uint8_t* p, size_t n) {
  uint64_t left = nwords_ - word_offset_;
  uint64_t num = left < max_payload_ / 8 ? left : max_payload_ / 8;
  if (n != num * 8) {
    throw WireError(Errc::kBadLength, "receive_bitmap_plain:want (" + std::to_string(num * 8) +
                                          ") != size (" + std::to_string(n) + ")");
  }
  if (num == 0) return true;  // the empty terminator
  for (uint64_t i = 0; i < num; i++) words_[word_offset_ + i] |= LoadLE64(p + i * 8);
  // Bits beyond nbits do not exist.
  if (nbits_ % 64) words_[nwords_ - 1] &= ~0ull >> (64 - nbits_ % 64);
  word_offset_ += num;
  bit_offset_ = word_offset_ * 64 < nbits_ ? word_offset_ * 64 : nbits_;
  return false;  // a plain transfer always ends with the empty terminator
}

bool BitmapDecoder::Compressed(const uint8_t* p, size_t n) {
  if (n > max_payload_) Fail("ReportCBitmap packet too large");
  if (n <= 1) Fail("ReportCBitmap packet too small");
  RleChunk c = DecodeRlePayload(p, n);
  uint64_t s = bit_offset_;
  bool value = c.first_set;
  for (uint64_t rl : c.runs) {
    if (rl > nbits_ - s) {
      Fail("bitmap overflow (e:" + std::to_string(s + rl - 1) + ") while decoding bm RLE packet");
    }
    if (value) SetRange(words_, s, s + rl);
    s += rl;
    value = !value;
  }
  bit_offset_ = s;
  word_offset_ = s / 64;  // a following plain chunk restarts at this word
  return s == nbits_;
}

RleChunk DecodeRlePayload(const uint8_t* p, size_t n) {
  if (n < 1) Fail("ReportCBitmap packet too small");
  uint8_t enc = p[0];
  if ((enc & 0x0f) != kRleVliBits) Fail("receive_bitmap_c: unknown encoding " + std::to_string(enc & 0x0f));
  unsigned pad = (enc >> 4) & 7;
  uint64_t total = uint64_t(n - 1) * 8;
  if (pad > total) Fail("bitmap decoding error: more pad bits than code bits");
  total -= pad;
  RleChunk c;
  c.first_set = (enc & 0x80) != 0;
  const uint8_t* code = p + 1;
  for (uint64_t pos = 0; pos < total;) {
    int have;
    uint64_t la = PeekBits(code, total, pos, &have);
    uint64_t rl;
    int used = VliDecode(la, have, &rl);
    if (used == 0) Fail("bitmap decoding error: truncated run length code at bit " + std::to_string(pos));
    c.runs.push_back(rl);
    pos += uint64_t(used);
  }
  return c;
}

std::vector<uint8_t> EncodeRlePayload(const RleChunk& c) {
  BitWriter bw(kBitmapMaxPayload * 16);
  for (uint64_t rl : c.runs) {
    uint64_t code;
    int bits = VliEncode(rl, &code);
    if (bits == 0) throw WireError(Errc::kArgument, "run length " + std::to_string(rl) + " cannot be VLI-coded");
    if (!bw.Put(code, bits)) throw WireError(Errc::kArgument, "too many runs for one packet");
  }
  std::vector<uint8_t> code = bw.Bytes();
  std::vector<uint8_t> out(1 + code.size());
  unsigned pad = unsigned((8 - (bw.bits() & 7)) & 7);
  out[0] = uint8_t(kRleVliBits | (pad << 4) | (c.first_set ? 0x80 : 0));
  std::memcpy(out.data() + 1, code.data(), code.size());
  return out;
}

}  // namespace udrbd::wire
