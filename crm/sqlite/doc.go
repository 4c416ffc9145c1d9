// Package sqlite implements crm.Store on an SQLite file with the pure-Go
// driver modernc.org/sqlite (no cgo).
//
// # Connections
//
// Open runs the embedded migrations, then serves writes from one
// connection and reads from a separate pool of read-only ones. The file
// is in WAL mode, so readers never wait for the writer nor the writer
// for readers, and callers never see SQLITE_BUSY: there is only one
// writer. Every connection gets its pragmas from the DSN (foreign keys,
// busy timeout, synchronous=NORMAL), because pragmas run once on a pool
// reach one connection only.
//
// # Group commit
//
// A commit is the expensive part of a small write (a WAL append and, at
// checkpoints, an fsync), and one writer connection serializes them. So
// writes are not run by their callers: each becomes a request to the
// writer goroutine, which takes every request waiting, runs each inside
// its own SAVEPOINT of one transaction, and commits them together. A
// request that fails (a constraint, say) is rolled back to its savepoint
// alone and only its caller sees the error. A call returns after its
// batch committed, so what it wrote is durable as WAL with
// synchronous=NORMAL makes it: it survives the process crashing, and a
// power loss may take the last commits back, never corrupt the file.
//
// The writer goroutine is started by Open and owned by the Store; Close
// stops it after the batch in progress and the requests already handed
// to it are committed, then closes the connections.
//
// # Checkpoints
//
// SQLite's automatic checkpoint is off: it would copy the WAL back into
// the database inside a commit, while every caller waits. A second
// goroutine, the checkpointer (also started by Open, stopped by Close),
// copies it on a reader connection at most every checkpoint interval and
// leaves the writer only the frames committed meanwhile, so the WAL
// restarts and stays small under steady load. Close checkpoints the
// whole WAL into the file.
//
// A caller's context counts until the writer takes its request: a call
// canceled while it waits returns ctx.Err() and writes nothing. Once
// taken, the request runs to completion (batches are short) and the call
// returns its outcome, so an error always means nothing was written.
//
// # Retention and backups
//
// ExpireMessages shares the writer with live traffic: it reads each
// batch on a reader, computes the new texts on its caller's goroutine,
// and hands the writer short transactions (at most 500 rows or 20 ms),
// pausing between them while others write. The writer runs with
// secure_delete(FAST), and retention's batches with it fully on, so
// expired words do not linger in the file's free space. Backup copies
// the database with VACUUM INTO a temporary file, syncs and verifies
// it, and links it into place; BackupTo adds timestamped names and
// rotation.
//
// # Layout
//
// Migrations are numbered SQL files in migrations/, embedded, applied in
// order, each in its own transaction and recorded in schema_migrations.
// A database that records a migration this build does not know was
// written by a newer build, and Open refuses it with crm.ErrSchema.
// Times are stored as Unix nanoseconds; lists and maps as JSON text.
package sqlite
