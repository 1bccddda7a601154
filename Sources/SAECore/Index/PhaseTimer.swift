import Foundation

// TEMPORARY profiling aid (remove before handing back).
enum PhaseTimer {
    nonisolated(unsafe) static var totals: [String: Double] = [:]
    nonisolated(unsafe) static var order: [String] = []
    nonisolated(unsafe) static var cpu: [String: Double] = [:]
    static func cpuNow() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
    static let enabled = ProcessInfo.processInfo.environment["SAESCOPE_PROFILE"] != nil

    @inline(__always)
    static func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = cpuNow()
        defer {
            cpu[name, default: 0] += cpuNow() - cpuStart
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if totals[name] == nil { order.append(name) }
            totals[name, default: 0] += seconds
        }
        return try body()
    }

    static func report() {
        guard enabled else { return }
        for name in order { FileHandle.standardError.write(Data(String(format: "  %-12@ %.3f s  cpu %.3f s\n", name as NSString, totals[name]!, cpu[name]!).utf8)) }
        totals = [:]; order = []; cpu = [:]
    }
}
