// Block payloads in flight (the peer's writes, reads for the peer, resync data): a byte
// vector whose resize() leaves new bytes uninitialised. Every payload is filled from the
// socket or the disk right away, so zero-filling each megabyte first would only cost time.
#pragma once
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace udrbd {

template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialised: no zeroing for bytes
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using DataBuffer = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

}  // namespace udrbd
