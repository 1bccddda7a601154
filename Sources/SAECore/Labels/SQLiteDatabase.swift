import CSQLite
import Foundation

/// A thin connection to one SQLite database file: statements with bound values, transactions,
/// and errors as `SaescopeError`s naming the file. Only the labels store uses it.
/// Not thread-safe: one connection per thread (SQLite's default serialized mode would allow
/// sharing, but the store never needs it).
public final class SQLiteDatabase {
    public let path: String
    private var handle: OpaquePointer?

    /// A value bound to a `?` parameter or read from a column.
    public enum Value: Equatable, Sendable {
        case null, integer(Int64), real(Double), text(String)
    }

    /// The failure kinds a caller treats differently: another process holds the lock too long,
    /// the file is not a database (or is damaged), or anything else.
    public enum Failure: Sendable { case busy, corrupt, readOnly, other }

    /// An error from SQLite with the kind of failure it is.
    public struct Error: Swift.Error, CustomStringConvertible {
        public let failure: Failure
        public let error: SaescopeError
        public var description: String { error.description }
    }

    /// Opens (creating when `create`) the database at `path`. `busyTimeout`: how long a statement
    /// waits for another process's lock before failing with `.busy`.
    public init(path: String, readOnly: Bool = false, create: Bool = true, busyTimeout: Int32 = 5000) throws {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0))
        var db: OpaquePointer?
        let status = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        handle = db
        guard status == SQLITE_OK else {
            let error = Self.error(status, message: db.map { String(cString: sqlite3_errmsg($0)) }, path: path)
            sqlite3_close_v2(db)
            handle = nil
            throw error
        }
        sqlite3_busy_timeout(db, busyTimeout)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs statements that take no parameters and return no rows (schema, pragmas).
    public func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard status == SQLITE_OK else { throw Self.error(status, message: message.map { String(cString: $0) }, path: path) }
    }

    /// Runs `sql` with `values` bound in order, calling `row` for each result row.
    public func query(_ sql: String, _ values: [Value] = [], row: (Row) throws -> Void = { _ in }) throws {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        try bind(values, to: statement)
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw failure(status) }
            try row(Row(statement: statement))
        }
    }

    /// A statement prepared once and run many times (imports).
    public func prepared(_ sql: String) throws -> Statement { Statement(database: self, statement: try prepare(sql)) }

    /// The first column of the first row, if any.
    public func scalar(_ sql: String, _ values: [Value] = []) throws -> Value? {
        var result: Value?
        try query(sql, values) { row in if result == nil { result = row.value(0) } }
        return result
    }

    /// Runs `body` in one transaction: all of its writes or none. `BEGIN IMMEDIATE` takes the
    /// write lock at once, so two processes queue on the busy timeout instead of failing at
    /// their first write with a deadlock.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// `PRAGMA user_version`: the schema version this database is at.
    public var userVersion: Int {
        get throws { Int(try scalar("PRAGMA user_version")?.integer ?? 0) }
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    // MARK: Statements

    public struct Row {
        let statement: OpaquePointer?
        public func value(_ i: Int32) -> Value {
            switch sqlite3_column_type(statement, i) {
            case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, i))
            case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, i))
            case SQLITE_NULL: return .null
            default: return .text(text(i))
            }
        }
        public func int(_ i: Int32) -> Int { Int(sqlite3_column_int64(statement, i)) }
        public func double(_ i: Int32) -> Double? {
            sqlite3_column_type(statement, i) == SQLITE_NULL ? nil : sqlite3_column_double(statement, i)
        }
        public func text(_ i: Int32) -> String {
            guard let bytes = sqlite3_column_text(statement, i) else { return "" }
            return String(cString: bytes)
        }
    }

    /// A prepared statement: `run` binds and steps it to the end.
    public final class Statement {
        let database: SQLiteDatabase
        let statement: OpaquePointer?
        init(database: SQLiteDatabase, statement: OpaquePointer?) {
            self.database = database
            self.statement = statement
        }
        deinit { sqlite3_finalize(statement) }

        public func run(_ values: [Value], row: (Row) throws -> Void = { _ in }) throws {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
            try database.bind(values, to: statement)
            while true {
                let status = sqlite3_step(statement)
                if status == SQLITE_DONE { return }
                guard status == SQLITE_ROW else { throw database.failure(status) }
                try row(Row(statement: statement))
            }
        }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard status == SQLITE_OK else { throw failure(status) }
        return statement
    }

    /// SQLite copies bound text at once (SQLITE_TRANSIENT), so the Swift strings may go.
    private func bind(_ values: [Value], to statement: OpaquePointer?) throws {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, value) in values.enumerated() {
            let position = Int32(i + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(statement, position)
            case .integer(let n): status = sqlite3_bind_int64(statement, position, n)
            case .real(let x): status = sqlite3_bind_double(statement, position, x)
            case .text(let s): status = sqlite3_bind_text(statement, position, s, -1, transient)
            }
            guard status == SQLITE_OK else { throw failure(status) }
        }
    }

    fileprivate func failure(_ status: Int32) -> Error {
        Self.error(status, message: String(cString: sqlite3_errmsg(handle)), path: path)
    }

    private static func error(_ status: Int32, message: String?, path: String) -> Error {
        let primary = status & 0xFF
        let kind: Failure
        let text: String
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED:
            kind = .busy
            text = "the labels database is locked by another process (waited for it, then gave up): \(message ?? "busy")"
        case SQLITE_NOTADB, SQLITE_CORRUPT:
            kind = .corrupt
            text = "the labels database is damaged or not an SQLite database (\(message ?? "corrupt")); move it aside to start a new one"
        case SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM:
            kind = .readOnly
            text = "the labels database cannot be written (\(message ?? "read-only"))"
        default:
            kind = .other
            text = "labels database error: \(message ?? String(cString: sqlite3_errstr(status)))"
        }
        return Error(failure: kind, error: SaescopeError(text, file: path))
    }
}

extension SQLiteDatabase.Value {
    public var integer: Int64? { if case .integer(let n) = self { return n } else { return nil } }
    public var string: String? { if case .text(let s) = self { return s } else { return nil } }
}
