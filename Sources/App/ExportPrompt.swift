import Foundation
import SAECore

/// The export question (`e`): "FORMAT PATH [force]", offered with the folder of the last export.
extension AppController {
    static let defaultExportName = "saescope-features.md"

    func openExportPrompt() {
        let folder = model.lastExportDirectory.map { $0.isEmpty ? "" : $0.hasSuffix("/") ? $0 : $0 + "/" } ?? ""
        model.prompt = Prompt(kind: .export, text: "md \(folder)\(Self.defaultExportName)")
    }

    /// "FORMAT PATH" or "FORMAT PATH force" (the path may hold spaces).
    func submitExport(_ text: String) {
        var rest = text
        let overwrite = rest.hasSuffix(" force")
        if overwrite { rest.removeLast(" force".count) }
        let parts = rest.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, let format = FeatureExporter.Format(rawValue: parts[0]) else {
            setMessage("give a format (json, jsonl, csv, md, safetensors) and a path, then force to replace a file", isError: true)
            return
        }
        startExport(format: format, path: parts[1].trimmingCharacters(in: .whitespaces), overwrite: overwrite)
    }
}
