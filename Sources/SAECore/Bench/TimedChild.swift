import Foundation

/// Runs saescope itself (or another program) as a child process, as a user would, timing the
/// whole process. Children get this process's environment, which start-up has put back as the
/// user gave it; `forcing` adds `OPENBLAS_CORETYPE` as a user setting would.
public struct TimedChild: Sendable {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var seconds: Double
        /// User plus system CPU time of the child (all its threads): steadier than wall time on
        /// a machine other programs are loading.
        public var cpuSeconds: Double
    }

    public var executable: String

    public init(executable: String) { self.executable = executable }

    /// This program's own executable.
    public static var saescope: TimedChild {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
        return TimedChild(executable: path)
    }

    /// The environment a child gets: this process's, with `family` forced when given.
    public static func environment(forcing family: KernelFamily?) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let family {
            environment[KernelStartup.coreTypeVariable] = family.name
            environment[KernelStartup.simulateVariable] = nil  // a forced family is the user's setting
        }
        return environment
    }

    public func run(_ arguments: [String], forcing family: KernelFamily? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = Self.environment(forcing: family)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let cpuBefore = Self.childrenCPUSeconds()
        let started = DispatchTime.now().uptimeNanoseconds
        try process.run()
        // Read both pipes concurrently so neither fills up and blocks the child.
        let errData = UncheckedSendable(DataBox())
        let errRead = DispatchGroup()
        errRead.enter()
        DispatchQueue.global().async {
            errData.value.data = err.fileHandleForReading.readDataToEndOfFile()
            errRead.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        errRead.wait()
        // The child has exited when both pipes are closed. Foundation's waitUntilExit polls
        // every 50 ms, which a whole-process timing of a 0.4 s run must not include.
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData.value.data, as: UTF8.self), seconds: seconds,
                      cpuSeconds: Self.childrenCPUSeconds() - cpuBefore)
    }

    /// CPU time of the children this process has waited for (one child at a time, so the
    /// difference around a run is that child's).
    static func childrenCPUSeconds() -> Double { cpuSeconds(Int32(RUSAGE_CHILDREN.rawValue)) }

    /// CPU time of this process, all threads.
    public static func ownCPUSeconds() -> Double { cpuSeconds(Int32(RUSAGE_SELF.rawValue)) }

    private static func cpuSeconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private final class DataBox { var data = Data() }

    /// Runs and requires exit status 0, or throws with the child's last error line.
    public func runChecked(_ arguments: [String], forcing family: KernelFamily? = nil) throws -> Result {
        let result = try run(arguments, forcing: family)
        guard result.status == 0 else {
            let detail = result.stderr.split(separator: "\n").last.map(String.init) ?? "no message"
            throw SaescopeError("child `saescope \(arguments.joined(separator: " "))` exited with \(result.status): \(detail)")
        }
        return result
    }
}
