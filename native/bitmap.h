// The in-memory out-of-sync bitmap of one minor: one bit per 4 KiB block of the DRBD device
// (spec/resync.md §1), persisted in the meta-data bitmap area as little-endian u64 words
// (spec/metadata-v08.md §3). Every operation is lock-free on atomic words because application
// writes from many I/O threads mark bits concurrently with the control plane and the resync.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace udrbd {

class LocalDisk;

class Bitmap {
 public:
  static constexpr uint64_t kBlockBytes = 4096;            // BM_BLOCK_SIZE
  static constexpr uint64_t kPageBytes = 4096;             // on-disk write unit
  static constexpr uint64_t kWordsPerPage = kPageBytes / 8;

  // BITS bits covering a device of DEVICE_BYTES (bits >= ceil(device_bytes / 4 KiB)).
  Bitmap(uint64_t bits, uint64_t device_bytes);
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;

  uint64_t bits() const { return bits_; }
  uint64_t count() const { return static_cast<uint64_t>(count_.load(std::memory_order_relaxed)); }

  // Marks every block touched by [offset, offset+len) out of sync (rounding outward).
  // Returns the number of bits that changed from 0 to 1.
  uint64_t set_range(uint64_t offset, uint64_t len);
  // Marks blocks fully covered by [offset, offset+len) in sync (rounding inward); the last,
  // partial block of the device counts as covered when the range reaches the device end.
  // Returns the number of bits that changed from 1 to 0.
  uint64_t clear_range(uint64_t offset, uint64_t len);
  // Bit-index forms; LAST is inclusive and clamped to the bitmap.
  uint64_t set_bits(uint64_t first, uint64_t last);
  uint64_t clear_bits(uint64_t first, uint64_t last);
  void set_all();
  void clear_all();
  bool test(uint64_t bit) const;
  // First set bit >= FROM, or bits() when there is none.
  uint64_t find_next_set(uint64_t from) const;
  // ORs NWORDS words of a peer's bitmap (bit i = bit i%64 of words[i/64]) into this one
  // (bitmap exchange); bits beyond bits() are ignored. Returns the number of bits newly set.
  uint64_t merge_words(const uint64_t* words, uint64_t nwords);
  // Copies the first NWORDS words (zero beyond bits()) for sending.
  void copy_words(uint64_t* out, uint64_t nwords) const;

  // Replaces the in-memory bitmap with the on-disk area at BYTE_OFFSET (all pages clean).
  void load(const LocalDisk& disk, uint64_t byte_offset);
  // Writes the dirty 4 KiB pages (adjacent ones in one write) and syncs them to stable storage.
  // Returns the number of pages written; throws std::runtime_error on I/O error (the pages
  // stay dirty then).
  uint64_t flush(LocalDisk& disk, uint64_t byte_offset);
  // Marks every page dirty (after set_all/clear_all the whole area must be rewritten).
  void mark_all_dirty();
  uint64_t dirty_pages() const;
  uint64_t area_bytes() const { return pages_ * kPageBytes; }

 private:
  uint64_t change(uint64_t first, uint64_t last, bool set);
  void mark_dirty(uint64_t word) {
    uint64_t page = word / kWordsPerPage;
    dirty_[page / 64].fetch_or(uint64_t{1} << (page % 64), std::memory_order_relaxed);
  }
  uint64_t last_word_mask() const;

  uint64_t bits_;
  uint64_t device_bytes_;
  uint64_t words_;
  uint64_t pages_;
  std::unique_ptr<std::atomic<uint64_t>[]> w_;
  std::unique_ptr<std::atomic<uint64_t>[]> dirty_;  // one bit per 4 KiB page
  std::atomic<int64_t> count_{0};
};

}  // namespace udrbd
