#include "bitmap.h"

#include <endian.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "local_disk.h"

namespace udrbd {

Bitmap::Bitmap(uint64_t bits, uint64_t device_bytes)
    : bits_(bits),
      device_bytes_(device_bytes),
      words_((bits + 63) / 64),
      pages_((words_ + kWordsPerPage - 1) / kWordsPerPage),
      w_(new std::atomic<uint64_t>[words_ ? words_ : 1]),
      dirty_(new std::atomic<uint64_t>[(pages_ + 63) / 64 + 1]) {
  if (bits < (device_bytes + kBlockBytes - 1) / kBlockBytes) {
    throw std::runtime_error("bitmap of " + std::to_string(bits) + " bits cannot cover " +
                             std::to_string(device_bytes) + " bytes");
  }
  for (uint64_t i = 0; i < words_; ++i) w_[i].store(0, std::memory_order_relaxed);
  for (uint64_t i = 0; i < (pages_ + 63) / 64 + 1; ++i) dirty_[i].store(0, std::memory_order_relaxed);
}

uint64_t Bitmap::last_word_mask() const {
  unsigned used = static_cast<unsigned>(bits_ % 64);
  return used == 0 ? ~uint64_t{0} : (uint64_t{1} << used) - 1;
}

uint64_t Bitmap::change(uint64_t first, uint64_t last, bool set) {
  if (bits_ == 0 || first >= bits_ || first > last) return 0;
  if (last >= bits_) last = bits_ - 1;
  uint64_t changed = 0;
  for (uint64_t wi = first / 64; wi <= last / 64; ++wi) {
    uint64_t lo = wi == first / 64 ? first % 64 : 0;
    uint64_t hi = wi == last / 64 ? last % 64 : 63;
    uint64_t mask = (hi == 63 ? ~uint64_t{0} : (uint64_t{1} << (hi + 1)) - 1) & ~((uint64_t{1} << lo) - 1);
    // Skip the atomic RMW when nothing would change: repeated writes to an already-dirty
    // region are the common case while disconnected.
    uint64_t cur = w_[wi].load(std::memory_order_relaxed);
    if (set ? (cur & mask) == mask : (cur & mask) == 0) continue;
    uint64_t old = set ? w_[wi].fetch_or(mask, std::memory_order_relaxed)
                       : w_[wi].fetch_and(~mask, std::memory_order_relaxed);
    uint64_t flipped = set ? (~old & mask) : (old & mask);
    if (flipped) {
      changed += static_cast<uint64_t>(__builtin_popcountll(flipped));
      mark_dirty(wi);
    }
  }
  if (changed) count_.fetch_add(set ? static_cast<int64_t>(changed) : -static_cast<int64_t>(changed),
                                std::memory_order_relaxed);
  return changed;
}

uint64_t Bitmap::set_bits(uint64_t first, uint64_t last) { return change(first, last, true); }
uint64_t Bitmap::clear_bits(uint64_t first, uint64_t last) { return change(first, last, false); }

uint64_t Bitmap::set_range(uint64_t offset, uint64_t len) {
  if (len == 0) return 0;
  return set_bits(offset / kBlockBytes, (offset + len - 1) / kBlockBytes);
}

uint64_t Bitmap::clear_range(uint64_t offset, uint64_t len) {
  if (len == 0) return 0;
  uint64_t end = offset + len;
  uint64_t first = (offset + kBlockBytes - 1) / kBlockBytes;
  // Exclusive end block: rounded down, except that a range reaching the end of the device
  // also covers the device's last, partial block.
  uint64_t end_block = end >= device_bytes_ ? (device_bytes_ + kBlockBytes - 1) / kBlockBytes
                                            : end / kBlockBytes;
  if (end_block <= first) return 0;
  return clear_bits(first, end_block - 1);
}

void Bitmap::set_all() {
  if (words_ == 0) return;
  for (uint64_t i = 0; i + 1 < words_; ++i) w_[i].store(~uint64_t{0}, std::memory_order_relaxed);
  w_[words_ - 1].store(last_word_mask(), std::memory_order_relaxed);
  count_.store(static_cast<int64_t>(bits_), std::memory_order_relaxed);
  mark_all_dirty();
}

void Bitmap::clear_all() {
  for (uint64_t i = 0; i < words_; ++i) w_[i].store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  mark_all_dirty();
}

bool Bitmap::test(uint64_t bit) const {
  if (bit >= bits_) return false;
  return (w_[bit / 64].load(std::memory_order_relaxed) >> (bit % 64)) & 1;
}

uint64_t Bitmap::find_next_set(uint64_t from) const {
  if (from >= bits_) return bits_;
  uint64_t wi = from / 64;
  uint64_t word = w_[wi].load(std::memory_order_relaxed) & (~uint64_t{0} << (from % 64));
  while (true) {
    if (word) {
      uint64_t bit = wi * 64 + static_cast<uint64_t>(__builtin_ctzll(word));
      return bit < bits_ ? bit : bits_;
    }
    if (++wi >= words_) return bits_;
    word = w_[wi].load(std::memory_order_relaxed);
  }
}

uint64_t Bitmap::merge_words(const uint64_t* words, uint64_t nwords) {
  uint64_t n = nwords < words_ ? nwords : words_;
  uint64_t changed = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t add = words[i];
    if (i + 1 == words_) add &= last_word_mask();
    if (!add) continue;
    uint64_t old = w_[i].fetch_or(add, std::memory_order_relaxed);
    if (uint64_t flipped = add & ~old) {
      changed += static_cast<uint64_t>(__builtin_popcountll(flipped));
      mark_dirty(i);
    }
  }
  if (changed) count_.fetch_add(static_cast<int64_t>(changed), std::memory_order_relaxed);
  return changed;
}

void Bitmap::copy_words(uint64_t* out, uint64_t nwords) const {
  for (uint64_t i = 0; i < nwords; ++i) out[i] = i < words_ ? w_[i].load(std::memory_order_relaxed) : 0;
}

void Bitmap::mark_all_dirty() {
  for (uint64_t p = 0; p < pages_; ++p) dirty_[p / 64].fetch_or(uint64_t{1} << (p % 64), std::memory_order_relaxed);
}

uint64_t Bitmap::dirty_pages() const {
  uint64_t n = 0;
  for (uint64_t i = 0; i < (pages_ + 63) / 64; ++i) {
    n += static_cast<uint64_t>(__builtin_popcountll(dirty_[i].load(std::memory_order_relaxed)));
  }
  return n;
}

void Bitmap::load(const LocalDisk& disk, uint64_t byte_offset) {
  uint64_t bytes = area_bytes();
  if (byte_offset + bytes > disk.size_bytes()) {
    throw std::runtime_error("bitmap area at " + std::to_string(byte_offset) + " (+" +
                             std::to_string(bytes) + " bytes) is beyond the end of " + disk.path());
  }
  std::vector<uint64_t> raw(pages_ * kWordsPerPage);
  if (bytes) {
    if (int e = disk.read(byte_offset, raw.data(), bytes)) {
      throw std::runtime_error("cannot read bitmap of " + disk.path() + ": " + std::strerror(e));
    }
  }
  int64_t count = 0;
  for (uint64_t i = 0; i < words_; ++i) {
    uint64_t v = le64toh(raw[i]);
    // Bits beyond the device are kept 0 in memory whatever the disk holds (spec §3).
    if (i + 1 == words_) v &= last_word_mask();
    w_[i].store(v, std::memory_order_relaxed);
    count += __builtin_popcountll(v);
  }
  count_.store(count, std::memory_order_relaxed);
  for (uint64_t i = 0; i < (pages_ + 63) / 64 + 1; ++i) dirty_[i].store(0, std::memory_order_relaxed);
}

uint64_t Bitmap::flush(LocalDisk& disk, uint64_t byte_offset) {
  if (byte_offset + area_bytes() > disk.size_bytes()) {
    throw std::runtime_error("bitmap area is beyond the end of " + disk.path());
  }
  // Adjacent dirty pages go out in one write of up to kRunPages pages.
  constexpr uint64_t kRunPages = 256;
  std::vector<uint64_t> buf(kRunPages * kWordsPerPage);
  uint64_t written = 0;
  uint64_t p = 0;
  while (p < pages_) {
    // Claim the dirty bit before copying: a bit set concurrently after the copy re-dirties
    // the page, so it is written again by the next flush and never lost.
    uint64_t bit = uint64_t{1} << (p % 64);
    if (!(dirty_[p / 64].fetch_and(~bit, std::memory_order_acq_rel) & bit)) {
      ++p;
      continue;
    }
    uint64_t start = p, n = 0;
    while (true) {
      uint64_t first_word = (start + n) * kWordsPerPage;
      for (uint64_t k = 0; k < kWordsPerPage; ++k) {
        uint64_t wi = first_word + k;
        buf[n * kWordsPerPage + k] = wi < words_ ? htole64(w_[wi].load(std::memory_order_relaxed)) : 0;
      }
      ++n;
      uint64_t q = start + n;
      if (n == kRunPages || q >= pages_) break;
      uint64_t qbit = uint64_t{1} << (q % 64);
      if (!(dirty_[q / 64].fetch_and(~qbit, std::memory_order_acq_rel) & qbit)) break;
    }
    if (int e = disk.write(byte_offset + start * kPageBytes, buf.data(), n * kPageBytes)) {
      for (uint64_t k = start; k < start + n; ++k) dirty_[k / 64].fetch_or(uint64_t{1} << (k % 64));
      throw std::runtime_error("cannot write bitmap of " + disk.path() + ": " + std::strerror(e));
    }
    written += n;
    p = start + n;
  }
  if (written) {
    if (int e = disk.sync()) throw std::runtime_error("cannot sync bitmap of " + disk.path() + ": " + std::strerror(e));
  }
  return written;
}

}  // namespace udrbd
