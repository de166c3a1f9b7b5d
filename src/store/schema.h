// The database schema of each role (workspace, server), as migrations applied
// in order by Db::Open (store/db.h). Migrations are append-only: never edit,
// reorder or renumber a released one; PRAGMA user_version counts those applied.
// Every table has one records class that writes SQL against it
// (docs/architecture.md, "Where each table lives").
#pragma once

#include "store/db.h"

namespace converge {

// The SQL scripts of `role`'s migrations, oldest first; sets `*count` to
// how many there are. Needs: a non-null `count`. Never fails; the strings are
// static.
const char* const* Migrations(DbRole role, int* count);

// The server schema in PostgreSQL's dialect (schema_pg.cpp), one migration
// for each of Migrations(kServer, ...) with the same number: a new server
// migration gets its twin there (PgSchema.EveryServerMigrationHasItsTwin
// fails until it does). Sets `*count`. Never fails.
const char* const* PgMigrations(int* count);

// Indexes that only make queries faster, made at every open when missing
// (CREATE INDEX IF NOT EXISTS, in SQL both engines take), outside the
// numbered migrations: adding one does not raise the schema version, which
// older nodes refuse, so the nodes of one authority need not upgrade at once
// for it. Only ever add; an index here must name columns every released
// schema has. Sets `*count`. Never fails.
const char* const* QueryIndexes(DbRole role, int* count);

}  // namespace converge
