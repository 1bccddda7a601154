import ArgumentParser
import Foundation
import SAECore

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "The BLAS library, version, kernel family and threads in use, the processor, and the encode path.")

    @Flag(help: "Print one JSON object instead of a line.") var json = false

    func run() throws {
        let report = BLASReport.current()
        if json {
            var object = report.json
            object["encode"] = EncodePath.machineSummary
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(report.line)
            print(EncodePath.machineSummary)
        }
    }
}
