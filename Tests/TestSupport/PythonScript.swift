import Foundation

/// Runs a Python script (numpy, scipy, scikit-learn as references) with the `python3` on PATH
/// and returns what it printed, stdout and stderr together; a check's last line is "ok".
public enum PythonScript {
    public static func run(_ script: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch { return "python3 did not start: \(error)" }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }
}
