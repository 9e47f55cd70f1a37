// Registration functions, one per native concept, called once from addon.cc.
#pragma once
#include <napi.h>

namespace udrbd {
void RegisterBackingStore(Napi::Env env, Napi::Object exports);
void RegisterWire(Napi::Env env, Napi::Object exports);  // wire_binding.cc: the `wire` object
void RegisterDevice(Napi::Env env, Napi::Object exports);
}  // namespace udrbd
