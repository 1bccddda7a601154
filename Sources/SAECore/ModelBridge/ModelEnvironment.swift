import Foundation

/// Where the model bridge's Python lives: the pinned environment `make model-env` builds
/// (tools/model_env.py), at `${XDG_CACHE_HOME:-~/.cache}/saescope/python-<key>` with `<key>` the
/// 64-bit FNV-1a hash of `tools/requirements-model.txt` in hex, or the python `SAESCOPE_PYTHON`
/// names. The package `saescope_model` is found in the source tree's `tools/` (found upwards from
/// the executable, or `SAESCOPE_TOOLS`).
public struct ModelEnvironment: Sendable {
    public let python: String
    public let toolsDirectory: String

    public static let setupHint = "run `make model-env` in saescope's source tree (or set SAESCOPE_PYTHON to a python with torch and transformers)"

    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              executable: String = ModelEnvironment.currentExecutable()) throws -> ModelEnvironment {
        guard let tools = toolsDirectory(environment: environment, executable: executable) else {
            throw SaescopeError("the model bridge cannot find saescope's tools/ directory (tools/saescope_model) above \(executable); set SAESCOPE_TOOLS to it")
        }
        if let python = environment["SAESCOPE_PYTHON"], !python.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: python) else {
                throw SaescopeError("SAESCOPE_PYTHON is not an executable file", file: python)
            }
            return ModelEnvironment(python: python, toolsDirectory: tools)
        }
        let pins = (tools as NSString).appendingPathComponent("requirements-model.txt")
        guard let data = FileManager.default.contents(atPath: pins) else {
            throw SaescopeError("cannot read the model environment's pins", file: pins)
        }
        let root = environmentDirectory(pins: data, environment: environment)
        let python = (root as NSString).appendingPathComponent("bin/python")
        guard FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent(".complete")),
              FileManager.default.isExecutableFile(atPath: python) else {
            throw SaescopeError("the model's Python environment is not there (\(root)): \(setupHint)")
        }
        return ModelEnvironment(python: python, toolsDirectory: tools)
    }

    /// `${XDG_CACHE_HOME:-~/.cache}/saescope/python-<FNV-1a of the pins>`, as tools/model_env.py computes it.
    public static func environmentDirectory(pins: Data, environment: [String: String]) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in pins { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cache")
        return ((cache as NSString).appendingPathComponent("saescope") as NSString)
            .appendingPathComponent("python-" + String(hash, radix: 16))
    }

    static func toolsDirectory(environment: [String: String], executable: String) -> String? {
        func holdsPackage(_ tools: String) -> Bool {
            FileManager.default.fileExists(atPath: (tools as NSString).appendingPathComponent("saescope_model/server.py"))
        }
        if let tools = environment["SAESCOPE_TOOLS"], !tools.isEmpty { return holdsPackage(tools) ? tools : nil }
        var directory = (executable as NSString).deletingLastPathComponent
        while directory.count > 1 {
            let tools = (directory as NSString).appendingPathComponent("tools")
            if holdsPackage(tools) { return tools }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return nil
    }

    public static func currentExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The child's environment: saescope's own, plus the package on PYTHONPATH and no network.
    public func childEnvironment(base: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var env = base
        env["PYTHONPATH"] = [toolsDirectory, base["PYTHONPATH"]].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ":")
        env["HF_HUB_OFFLINE"] = "1"
        env["TOKENIZERS_PARALLELISM"] = "false"
        env["PYTHONUNBUFFERED"] = "1"
        return env
    }
}
