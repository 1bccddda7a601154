#ifndef SAESCOPE_CSQLITE_SHIM_H
#define SAESCOPE_CSQLITE_SHIM_H
// SQLite (Debian's libsqlite3-dev), for the labels store.
#include <sqlite3.h>
#endif
