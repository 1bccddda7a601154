import ArgumentParser
import Foundation
import SAECore

/// `saescope labels import|export`: the labels database from the command line.
struct LabelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labels",
        abstract: "Import explanations into, or export, a dictionary's labels (the interface's L, E, T, R keys write them).",
        discussion: """
        Labels live in one SQLite database, $XDG_DATA_HOME/saescope/labels.sqlite (default
        ~/.local/share/saescope/labels.sqlite), keyed by the dictionary's content fingerprint: a copied or renamed
        dictionary keeps its labels, a retrained one starts empty.
        """,
        subcommands: [LabelsImportCommand.self, LabelsExportCommand.self])

    /// The store of the dictionary at `sae`, and its feature count.
    static func open(sae: String) throws -> (LabelStore, featureCount: Int) {
        let dictionary = try DictionaryLoader.load(path: sae)
        let store = try LabelStore(weightsPath: dictionary.provenance.weightsPath)
        return (store, dictionary.featureCount)
    }
}

struct LabelsImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import explanations: a Neuronpedia export (jsonl, jsonl.gz), a delphi explanations directory, or a saescope labels export (jsonl, csv).",
        discussion: """
        Neuronpedia rows (modelId, layer, index, description, explanationModelName, typeName) match features by their
        string index; delphi files (<hookpoint>_latent<N>.txt, each a JSON string) by N. A file holding several
        layers or hookpoints needs --layer. Malformed rows are skipped and their line numbers reported; the good ones
        are imported in one transaction. Exit code 2 when any row was malformed.
        """)

    @Argument(help: "The file or directory to import.") var file: String
    @Option(help: "Dictionary the explanations belong to (as for eval).") var sae: String
    @Option(help: "Only rows of this Neuronpedia layer (e.g. 6-res-jb) or delphi hookpoint (e.g. layers.6).") var layer: String?

    func run() throws {
        let (store, featureCount) = try LabelsCommand.open(sae: sae)
        let report = try LabelImport.run(file, into: store, featureCount: featureCount, layer: layer)
        print("\(file): \(report.summary)")
        if report.badCount > 0 { throw ExitCode(2) }
    }
}

struct LabelsExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a dictionary's labels, notes, tags, status and explanations as jsonl or csv (to stdout or --out).")

    @Option(help: "Dictionary (as for eval).") var sae: String
    @Option(help: "jsonl or csv.") var format: String = "jsonl"
    @Option(help: "File to write (default: stdout).") var out: String?
    @Flag(help: "Replace an existing file.") var force = false

    func validate() throws {
        if format != "jsonl" && format != "csv" { throw ValidationError("--format must be jsonl or csv") }
    }

    func run() throws {
        let (store, _) = try LabelsCommand.open(sae: sae)
        let book = try store.load()
        let bytes = format == "csv" ? Array(LabelCSV.dump(book).utf8) : try LabelJSON.dump(book, fingerprint: store.fingerprint)
        guard let out else {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        try OutputFile.checkWritable(out, overwrite: force, inputs: [sae, store.path])
        try AtomicFile.write(bytes, to: out)
        FileHandle.standardError.write(Data("exported \(book.features.count) labelled features to \(out) (\(format))\n".utf8))
    }
}
