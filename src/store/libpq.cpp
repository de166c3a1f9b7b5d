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
      Load(handle, "PQclear", &pq.PQclear, &missing);
      Load(handle, "PQcmdStatus", &pq.PQcmdStatus, &missing);
      Load(handle, "PQcmdTuples", &pq.PQcmdTuples, &missing);
      Load(handle, "PQconnectdbParams", &pq.PQconnectdbParams, &missing);
      Load(handle, "PQconninfoFree", &pq.PQconninfoFree, &missing);
      Load(handle, "PQconninfoParse", &pq.PQconninfoParse, &missing);
      Load(handle, "PQdb", &pq.PQdb, &missing);
      Load(handle, "PQerrorMessage", &pq.PQerrorMessage, &missing);
      Load(handle, "PQexec", &pq.PQexec, &missing);
      Load(handle, "PQexecPrepared", &pq.PQexecPrepared, &missing);
      Load(handle, "PQfinish", &pq.PQfinish, &missing);
      Load(handle, "PQfreemem", &pq.PQfreemem, &missing);
      Load(handle, "PQftype", &pq.PQftype, &missing);
      Load(handle, "PQgetisnull", &pq.PQgetisnull, &missing);
      Load(handle, "PQgetlength", &pq.PQgetlength, &missing);
      Load(handle, "PQgetvalue", &pq.PQgetvalue, &missing);
      Load(handle, "PQhost", &pq.PQhost, &missing);
      Load(handle, "PQntuples", &pq.PQntuples, &missing);
      Load(handle, "PQport", &pq.PQport, &missing);
      Load(handle, "PQprepare", &pq.PQprepare, &missing);
      Load(handle, "PQreset", &pq.PQreset, &missing);
      Load(handle, "PQresultErrorField", &pq.PQresultErrorField, &missing);
      Load(handle, "PQresultErrorMessage", &pq.PQresultErrorMessage, &missing);
      Load(handle, "PQresultStatus", &pq.PQresultStatus, &missing);
      Load(handle, "PQsetNoticeProcessor", &pq.PQsetNoticeProcessor, &missing);
      Load(handle, "PQstatus", &pq.PQstatus, &missing);
      Load(handle, "PQtransactionStatus", &pq.PQtransactionStatus, &missing);
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
