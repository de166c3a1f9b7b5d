#include "store/libpq.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace converge {

namespace {

constexpr const char* kLibPq = "libpq.so.5";

LibPq pq;
Status loaded = Internal("libpq not loaded yet");

template <typename Fn>
void Load(void* handle, const char* name, Fn* fn, std::string* missing) {
  *fn = reinterpret_cast<Fn>(::dlsym(handle, name));
  if (!*fn && missing->empty()) *missing = name;
}

}  // namespace

Status LoadLibPq() {
  static std::once_flag once;
  std::call_once(once, [] {
    void* handle = ::dlopen(kLibPq, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      loaded = IoError(std::string("PostgreSQL needs libpq (") + kLibPq + "), which cannot be " +
                       "loaded: " + (why ? why : "unknown reason") +
                       "; install it (apt-get install libpq5)");
      return;
    }
    std::string missing;
#define CONVERGE_LIBPQ_LOAD(name) Load(handle, #name, &pq.name, &missing);
    CONVERGE_LIBPQ_FUNCTIONS(CONVERGE_LIBPQ_LOAD)
#undef CONVERGE_LIBPQ_LOAD
    loaded = missing.empty() ? Status::Ok()
                             : IoError(std::string(kLibPq) + " has no " + missing +
                                       ": install a libpq of PostgreSQL 15 or newer");
  });
  return loaded;
}

const LibPq& Pq() {
  return pq;
}

}  // namespace converge
