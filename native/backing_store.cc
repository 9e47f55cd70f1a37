#include "backing_store.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <napi.h>
#include "exports.h"

namespace udrbd {

static std::runtime_error SysError(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

BackingStore::BackingStore(const std::string& path, bool writable, bool exclusive) : path_(path) {
  int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  // O_EXCL on a block device means "not mounted, not claimed by anyone else" (as the kernel
  // module claims its lower device); on a regular file it would mean create, so it is skipped.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw SysError("cannot open", path);
  if (S_ISBLK(st.st_mode) && exclusive) flags |= O_EXCL;
  fd_ = ::open(path.c_str(), flags);
  if (fd_ < 0) throw SysError("cannot open", path);
  if (::fstat(fd_, &st) != 0) throw SysError("cannot stat", path);
  if (S_ISBLK(st.st_mode)) {
    is_block_device_ = true;
    if (::ioctl(fd_, BLKGETSIZE64, &size_bytes_) != 0) throw SysError("cannot get size of", path);
  } else if (S_ISREG(st.st_mode)) {
    size_bytes_ = static_cast<uint64_t>(st.st_size);
  } else {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(path + ": not a block device or regular file");
  }
}

BackingStore::~BackingStore() { close(); }

void BackingStore::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void BackingStore::read_at(uint64_t offset, void* buf, size_t len) const {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = ::pread(fd_, p, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SysError("read error on", path_);
    if (n == 0) throw std::runtime_error("unexpected end of device " + path_);
    p += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

void BackingStore::write_at(uint64_t offset, const void* buf, size_t len) {
  auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::pwrite(fd_, p, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SysError("write error on", path_);
    p += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

void BackingStore::flush() {
  if (::fsync(fd_) != 0) throw SysError("flush failed on", path_);
}

// ---- JavaScript binding: synchronous, for the offline tools (one call per meta-data area,
// never per block of application I/O).

namespace {

class BackingStoreWrap : public Napi::ObjectWrap<BackingStoreWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BackingStore",
                       {InstanceMethod("readAt", &BackingStoreWrap::ReadAt),
                        InstanceMethod("writeAt", &BackingStoreWrap::WriteAt),
                        InstanceMethod("flush", &BackingStoreWrap::Flush),
                        InstanceMethod("close", &BackingStoreWrap::Close),
                        InstanceAccessor("sizeBytes", &BackingStoreWrap::SizeBytes, nullptr),
                        InstanceAccessor("isBlockDevice", &BackingStoreWrap::IsBlockDevice, nullptr)});
  }

  // new BackingStore(path, writable, exclusive)
  explicit BackingStoreWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BackingStoreWrap>(info) {
    Napi::Env env = info.Env();
    try {
      store_ = std::make_unique<BackingStore>(info[0].As<Napi::String>().Utf8Value(),
                                              info[1].As<Napi::Boolean>().Value(),
                                              info[2].As<Napi::Boolean>().Value());
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    }
  }

 private:
  bool Check(Napi::Env env) {
    if (store_) return true;
    Napi::Error::New(env, "backing store is closed").ThrowAsJavaScriptException();
    return false;
  }

  // readAt(offset, length) -> Buffer
  Napi::Value ReadAt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    uint64_t off = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    size_t len = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
    auto buf = Napi::Buffer<char>::New(env, len);
    try {
      store_->read_at(off, buf.Data(), len);
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return buf;
  }

  // writeAt(offset, buffer)
  Napi::Value WriteAt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    uint64_t off = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    auto data = info[1].As<Napi::Buffer<char>>();
    try {
      store_->write_at(off, data.Data(), data.Length());
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    try {
      store_->flush();
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    store_.reset();
    return info.Env().Undefined();
  }

  Napi::Value SizeBytes(const Napi::CallbackInfo& info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(store_->size_bytes()));
  }

  Napi::Value IsBlockDevice(const Napi::CallbackInfo& info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    return Napi::Boolean::New(info.Env(), store_->is_block_device());
  }

  std::unique_ptr<BackingStore> store_;
};

}  // namespace

void RegisterBackingStore(Napi::Env env, Napi::Object exports) {
  exports.Set("BackingStore", BackingStoreWrap::Define(env));
}

}  // namespace udrbd
