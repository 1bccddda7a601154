import ArgumentParser
import Foundation
import SAECore
import Terminal

struct Saescope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saescope",
        abstract: "Browse and evaluate sparse autoencoders (dictionaries) and probes in the terminal.",
        subcommands: [OpenCommand.self, EvalCommand.self, TextCommand.self, InspectCommand.self, IndexCommand.self, MergeCommand.self, ProbeCommand.self, PCACommand.self, CompareCommand.self, ExportCommand.self, LabelsCommand.self, BenchCommand.self, KeysCommand.self, DoctorCommand.self],
        defaultSubcommand: OpenCommand.self)
}

// Before anything else: the BLAS kernels that fit this processor (may restart the process once).
KernelStartup.ensureBestKernels()
// OpenBLAS's workers would otherwise spin for ~0.1 s of CPU beside the work (see BLASThreadPool).
BLASThreadPool.stopIdleWorkers()

/// Bad input is a one-line message naming the file, and exit code 2; usage errors keep
/// ArgumentParser's own message and code.
do {
    var command = try Saescope.parseAsRoot()
    try command.run()
} catch let error as TerminalError {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
} catch let error as SaescopeError {
    FileHandle.standardError.write(Data("saescope: \(error)\n".utf8))
    exit(2)
} catch {
    Saescope.exit(withError: error)
}
