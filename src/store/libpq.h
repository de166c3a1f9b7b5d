// libpq, loaded on the first PostgreSQL connection instead of at every start.
// Linked, it pulls in some twenty libraries (Kerberos, LDAP, GnuTLS, SASL)
// whose loading took about 3 ms of every converge command's 8 ms start, for
// a library only `converge serve` on PostgreSQL (and its tests) use. The
// types and constants still come from libpq-fe.h.
#pragma once

#include <libpq-fe.h>

#include "base/status.h"

namespace converge {

// The functions store/pg_db.cpp calls, by their libpq names.
struct LibPq {
  decltype(&::PQclear) PQclear;
  decltype(&::PQcmdStatus) PQcmdStatus;
  decltype(&::PQcmdTuples) PQcmdTuples;
  decltype(&::PQconnectdbParams) PQconnectdbParams;
  decltype(&::PQconninfoFree) PQconninfoFree;
  decltype(&::PQconninfoParse) PQconninfoParse;
  decltype(&::PQdb) PQdb;
  decltype(&::PQerrorMessage) PQerrorMessage;
  decltype(&::PQexec) PQexec;
  decltype(&::PQexecPrepared) PQexecPrepared;
  decltype(&::PQfinish) PQfinish;
  decltype(&::PQfreemem) PQfreemem;
  decltype(&::PQftype) PQftype;
  decltype(&::PQgetisnull) PQgetisnull;
  decltype(&::PQgetlength) PQgetlength;
  decltype(&::PQgetvalue) PQgetvalue;
  decltype(&::PQhost) PQhost;
  decltype(&::PQntuples) PQntuples;
  decltype(&::PQport) PQport;
  decltype(&::PQprepare) PQprepare;
  decltype(&::PQreset) PQreset;
  decltype(&::PQresultErrorField) PQresultErrorField;
  decltype(&::PQresultErrorMessage) PQresultErrorMessage;
  decltype(&::PQresultStatus) PQresultStatus;
  decltype(&::PQsetNoticeProcessor) PQsetNoticeProcessor;
  decltype(&::PQstatus) PQstatus;
  decltype(&::PQtransactionStatus) PQtransactionStatus;
};

// Loads libpq (libpq.so.5) once; kIo naming the library when it
// cannot be loaded or lacks a function. Thread-safe.
Status LoadLibPq();
// The loaded functions: only after LoadLibPq succeeded.
const LibPq& Pq();

}  // namespace converge
