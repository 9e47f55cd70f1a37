// Registration functions, one per native concept, called once from addon.cc.
#pragma once
#include <napi.h>

#include <memory>

namespace udrbd {
class Device;
void RegisterBackingStore(Napi::Env env, Napi::Object exports);
void RegisterWire(Napi::Env env, Napi::Object exports);  // wire_binding.cc: the `wire` object
void RegisterDevice(Napi::Env env, Napi::Object exports);
void RegisterPeerLink(Napi::Env env, Napi::Object exports);
// The open Device behind a JS Device object, kept alive by the returned reference; nullptr
// if the value is not an open Device (device_wrap.cc).
std::shared_ptr<Device> SharedDevice(Napi::Value v);
}  // namespace udrbd
