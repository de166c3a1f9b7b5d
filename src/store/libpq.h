// libpq, loaded on the first PostgreSQL connection instead of at every start.
// Linked, it pulls in some twenty libraries (Kerberos, LDAP, GnuTLS, SASL)
// whose loading took about 3 ms of every converge command's 8 ms start, for
// a library only `converge serve` on PostgreSQL (and its tests) use. The
// types and constants still come from libpq-fe.h.
#pragma once

#include <libpq-fe.h>

#include "base/status.h"

namespace converge {

// The functions store/pg_db.cpp calls, listed once: the struct below
// declares them and LoadLibPq resolves them from this one list.
#define CONVERGE_LIBPQ_FUNCTIONS(X) \
  X(PQclear)                        \
  X(PQcmdStatus)                    \
  X(PQcmdTuples)                    \
  X(PQconnectdbParams)              \
  X(PQconninfoFree)                 \
  X(PQconninfoParse)                \
  X(PQdb)                           \
  X(PQerrorMessage)                 \
  X(PQexec)                         \
  X(PQexecPrepared)                 \
  X(PQfinish)                       \
  X(PQfreemem)                      \
  X(PQftype)                        \
  X(PQgetisnull)                    \
  X(PQgetlength)                    \
  X(PQgetvalue)                     \
  X(PQhost)                         \
  X(PQntuples)                      \
  X(PQport)                         \
  X(PQprepare)                      \
  X(PQreset)                        \
  X(PQresultErrorField)             \
  X(PQresultErrorMessage)           \
  X(PQresultStatus)                 \
  X(PQsetNoticeProcessor)           \
  X(PQstatus)                       \
  X(PQtransactionStatus)

// The functions, by their libpq names.
struct LibPq {
#define CONVERGE_LIBPQ_MEMBER(name) decltype(&::name) name;
  CONVERGE_LIBPQ_FUNCTIONS(CONVERGE_LIBPQ_MEMBER)
#undef CONVERGE_LIBPQ_MEMBER
};

// Loads libpq (libpq.so.5) once; kIo naming the library when it
// cannot be loaded or lacks a function. Thread-safe.
Status LoadLibPq();
// The loaded functions: only after LoadLibPq succeeded.
const LibPq& Pq();

}  // namespace converge
