/// The labels database's schema, as numbered migrations: a database at version `n`
/// (`PRAGMA user_version`) gets steps `n+1 ... latest`, each in its own transaction, so a crash
/// leaves it at one version or the next. Steps are never edited once released: a change is a new
/// step. Every record is keyed by the dictionary's `ContentFingerprint` and the feature id.
public enum LabelSchema {
    public static let migrations: [String] = [
        // 1: the user's own judgments.
        """
        CREATE TABLE label (
            dictionary TEXT NOT NULL,
            feature INTEGER NOT NULL CHECK (feature >= 0),
            label TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'unreviewed'
                CHECK (status IN ('unreviewed', 'interpretable', 'uninterpretable', 'dead')),
            author TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (dictionary, feature)
        ) WITHOUT ROWID;
        CREATE TABLE tag (
            dictionary TEXT NOT NULL,
            feature INTEGER NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (dictionary, feature, name)
        ) WITHOUT ROWID;
        """,
        // 2: explanations imported from elsewhere, and the marks (until now JSON files beside it).
        """
        CREATE TABLE explanation (
            dictionary TEXT NOT NULL,
            feature INTEGER NOT NULL CHECK (feature >= 0),
            source TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL,
            score REAL,
            imported_at REAL NOT NULL,
            PRIMARY KEY (dictionary, feature, source, model, description)
        ) WITHOUT ROWID;
        CREATE TABLE mark (
            dictionary TEXT NOT NULL,
            feature INTEGER NOT NULL CHECK (feature >= 0),
            PRIMARY KEY (dictionary, feature)
        ) WITHOUT ROWID;
        """,
    ]

    public static var latestVersion: Int { migrations.count }

    /// Brings `database` to `target` (default: the latest). Each step re-reads the version
    /// inside its write transaction, so two processes opening an old database at once migrate it
    /// once. A database newer than this saescope is an error (it would not know the new columns).
    public static func migrate(_ database: SQLiteDatabase, to target: Int = latestVersion) throws {
        // WAL: readers never wait for the writer, and a crash mid-write leaves the last commit.
        // The mode is kept in the file; setting it needs no transaction.
        // Switching needs the database to itself (and SQLite answers BUSY there without waiting):
        // ask first, so opening a database already in WAL never takes that lock.
        if try database.scalar("PRAGMA journal_mode")?.string?.lowercased() != "wal" {
            try database.execute("PRAGMA journal_mode=WAL")
        }
        let found = try database.userVersion
        if found > latestVersion {
            throw SaescopeError("the labels database is at schema version \(found), newer than this saescope knows (\(latestVersion)); update saescope",
                                file: database.path)
        }
        guard found < target else { return }
        for step in (found + 1)...target {
            try database.transaction {
                guard try database.userVersion < step else { return }
                try database.execute(migrations[step - 1])
                try database.execute("PRAGMA user_version = \(step)")
            }
        }
    }
}
