// Module entry: each concept registers its exports from its own file.
#include <napi.h>
#include "exports.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  udrbd::RegisterBackingStore(env, exports);
  udrbd::RegisterWire(env, exports);
  udrbd::RegisterDevice(env, exports);
  udrbd::RegisterPeerLink(env, exports);
  return exports;
}

NODE_API_MODULE(udrbd, Init)
