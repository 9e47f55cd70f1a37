// The activity log (spec/metadata-v08.md §4, resync.md §2): the set of 4 MiB extents that
// may have writes in flight. Before a write lands in an extent that is not in the set, a
// transaction naming the change is written to the meta-data area, so that after a crash of
// a Primary exactly these extents are resynced (apply-al marks them out of sync).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace udrbd {

class ActivityLog {
 public:
  // Writes one 4 KiB transaction block at a byte offset of the meta-data device and makes it
  // durable; returns 0 or an errno.
  using BlockWriter = std::function<int(uint64_t offset, const uint8_t* block)>;
  // Called before an extent leaves the set, so the bitmap pages covering it are on disk
  // first (the bitmap carries the extent's out-of-sync bits from then on).
  using EvictHook = std::function<void(uint32_t extent)>;

  static constexpr uint32_t kExtentShift = 22;  // 4 MiB extents
  static constexpr uint32_t kFree = 0xFFFFFFFFu;  // LC_FREE
  static constexpr uint32_t kUpdatesPerTransaction = 64;
  static constexpr uint32_t kContextPerTransaction = 919;
  static constexpr uint32_t kBlocks = 8;  // al_stripes 1 x al_stripe_size_4k 8
  // Usable slots of a 32 KiB log: (8 - 1) x 919; larger al-extents are silently reduced.
  static constexpr uint32_t kMaxExtents = (kBlocks - 1) * kContextPerTransaction;

  ActivityLog(uint32_t al_extents, uint64_t al_offset_bytes, BlockWriter write, EvictHook evict);

  // Marks every extent touched by [offset, offset+len) active, writing transactions for the
  // cold ones first. Blocks while every slot is busy. Returns 0 or the errno of the
  // transaction write (the request must then fail).
  int BeginIo(uint64_t offset, uint64_t len);
  void EndIo(uint64_t offset, uint64_t len);

  // While every bitmap bit is set (first attach, invalidate-remote) the log is not needed:
  // everything will be resynced anyway. /proc/drbd shows this as the 6th flag `s`.
  void SetSuspended(bool s);
  bool suspended() const;
  uint64_t transactions() const;  // the `al:` counter
  std::vector<uint32_t> ActiveExtents() const;

  // Encodes one transaction block (exposed for tests and apply-al's golden comparisons).
  static void EncodeTransaction(uint8_t* block, uint32_t tr_number, uint16_t type,
                                const std::vector<std::pair<uint16_t, uint32_t>>& updates, uint16_t context_size,
                                uint16_t context_start, const std::vector<uint32_t>& slots);
  // CRC-32C as the activity log uses it: seed 0, no final inversion.
  static uint32_t Crc(const uint8_t* p, size_t n);

 private:
  struct Slot {
    uint32_t extent = kFree;
    uint32_t refs = 0;
    std::list<uint32_t>::iterator lru;  // position in lru_ (front = most recent)
  };
  int WriteTransactionLocked(const std::vector<std::pair<uint16_t, uint32_t>>& updates);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t al_offset_;
  BlockWriter write_;
  EvictHook evict_;
  std::vector<Slot> slots_;
  std::list<uint32_t> lru_;  // slot numbers
  std::unordered_map<uint32_t, uint32_t> by_extent_;
  uint32_t tr_number_ = 0;
  uint32_t context_start_ = 0;
  uint64_t transactions_ = 0;
  bool suspended_ = false;
};

}  // namespace udrbd
