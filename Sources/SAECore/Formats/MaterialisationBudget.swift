/// What reading one file may build in memory, bounded by the file's own size.
///
/// A pickle shares objects through its memo, so a kilobyte can name the same dict a million
/// times; walking it naively would allocate gigabytes. Readers charge what they build (names,
/// entries, copied tensor bytes) to a budget of a small multiple of the file's size plus a
/// constant, and stop with a one-line error beyond it. Shared objects are charged once where
/// they are built once (a storage, a strided copy); each name under which they appear costs
/// its own few bytes.
struct MaterialisationBudget {
    static let sizeMultiple = 4
    static let constantBytes = 32 << 20

    let limit: Int
    private(set) var used = 0

    init(fileSize: Int) {
        let (scaled, overflow) = max(fileSize, 0).multipliedReportingOverflow(by: Self.sizeMultiple)
        let (total, overflow2) = scaled.addingReportingOverflow(Self.constantBytes)
        limit = overflow || overflow2 ? Int.max : total
    }

    /// Records `bytes` more, or throws once the total passes the limit.
    mutating func charge(_ bytes: Int, for what: @autoclosure () -> String) throws {
        let (total, overflow) = used.addingReportingOverflow(max(bytes, 0))
        guard !overflow, total <= limit else {
            throw SaescopeError("reading it would build more than \(limit / (1 << 20)) MiB in memory (\(Self.sizeMultiple)x the file's size + \(Self.constantBytes >> 20) MiB) at \(what()); a file that shares objects many times over is refused, not expanded")
        }
        used = total
    }
}
