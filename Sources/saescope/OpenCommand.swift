import App
import ArgumentParser
import Foundation
import SAECore
import Terminal
import TUI

/// `saescope open` (and `saescope` with no arguments, which opens the bundled sample): the
/// interactive browser.
struct OpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Browse a dictionary's features in the terminal (the default command: with no arguments, the bundled sample).",
        discussion: """
        Without an index (or with a stale one) indexing starts in the background and the screens fill in
        as it goes. Keys: ? in the interface lists them all; q quits (from a drill-down such as a feature's detail: goes back).
        """)

    @Option(help: "Dictionary, as for eval (a dictionary_learning trainer folder or ae.pt, a SAELens folder, transcoders too, a sparsify hookpoint folder, a Gemma Scope params.npz). Default: the bundled sample.") var sae: String?
    @Option(help: "Activation cache to browse over. Default: the sample's when --sae is not given.") var acts: String?
    @Option(help: "Index file (default: ~/.cache/saescope, keyed by the dictionary and cache paths; settings other than the defaults get a file of their own). With --sae; an index from index --codes opens with --sae and no --acts.") var index: String?
    @Option(help: "tokenizer.json (default: the one the cache's metadata names).") var tokenizer: String?
    @Option(help: "Theme: dark, light, high-contrast, a name in ~/.config/saescope/themes, or a .toml file.") var theme = "dark"
    @Option(name: .customLong("top-k"), help: "Top exemplars per feature when indexing.") var topK = 20
    @Option(help: "Context tokens on each side when indexing.") var context = 5
    @Option(help: "The model's unembedding W_U [D, V] (safetensors or npy; lm_head.weight [V, D] is transposed): logit effects on the detail screen.")
    var unembed: String?
    @Option(name: .customLong("max-tokens"), help: "Index at most N tokens (a quick first look at a large cache).") var maxTokens: Int?
    @OptionGroup var precision: EncodePrecisionOptions
    @OptionGroup var special: SpecialTokenOptions
    @Flag(name: .customLong("no-mouse"), help: "Leave the mouse to the terminal (its own selection).") var noMouse = false
    @Option(parsing: .upToNextOption, help: "Probe datasets for the probes screen (p): statements CSVs beside same-stem .safetensors, or folders of them. Default with no --sae: the sample's.")
    var probes: [String] = []
    @Option(name: .customLong("sae2"), help: "A second dictionary (same D) to compare with --sae over the same cache: opens on the compare screen. Default with no --sae: the sample's second dictionary (c compares).")
    var sae2: String?
    @Option(name: .customLong("index2"), help: "Index of --sae2 over the same cache (default: the file saescope index writes for it; built in the background when missing).")
    var index2: String?

    /// The labels database, keyed by the weights' fingerprint (read once for both the store and
    /// the marks file it takes over).
    private func openLabels(_ controller: AppController, weightsPath: String) {
        guard let fingerprint = ContentFingerprint.of(file: weightsPath) else { return }
        let environment = ProcessInfo.processInfo.environment
        let marks = MarksStore(directory: (MarksStore.dataDirectory(environment: environment) as NSString).appendingPathComponent("marks"),
                               fingerprint: fingerprint)
        controller.attachLabels({ try LabelStore(path: LabelStore.defaultPath(environment: environment), fingerprint: fingerprint) }, marksFile: marks)
    }

    @OptionGroup var modelOptions: ModelAttachOptions
    @Flag(name: .customLong("no-model"), help: "Do not attach the model the cache's metadata names (by default it is, when it is on this machine and the model environment exists).")
    var noModel = false

    func validate() throws {
        if index2 != nil, sae2 == nil { throw ValidationError("--index2 goes with --sae2") }
        if noModel, modelOptions.model != nil { throw ValidationError("give --model or --no-model, not both") }
        // An index of the user's own is not the sample's: opening it with the sample dictionary
        // failed on the widths ("the index has 32 features but the dictionary 2048").
        if let index, sae == nil { throw ValidationError(Self.missingDictionary(index: index)) }
    }

    func run() throws {
        precision.apply()
        // Checked before loading anything, so scripts get the message at once.
        if isatty(STDOUT_FILENO) == 0 || isatty(STDIN_FILENO) == 0 {
            throw TerminalError.notATerminal(stream: isatty(STDOUT_FILENO) == 0 ? "stdout" : "stdin")
        }
        let (saePath, actsPath) = try resolveInputs()
        var options = FeatureIndexOptions()
        var specialTokensNotice: String?
        options.topK = topK
        options.context = context
        options.maxTokens = maxTokens
        if let actsPath {
            let recorded = SpecialTokenDefault.recordedExclusion(dictionaryPath: saePath)
            options.excludeSpecial = try special.resolve(recorded: recorded, cache: ActivationCache(path: actsPath),
                                                         note: { specialTokensNotice = $0 }) == nil ? nil : true
        } else if special.excludeSpecial {
            throw ValidationError("--exclude-special needs --acts (the rows to leave out are the cache's)")
        }
        do { try options.validate() } catch let error as SaescopeError { throw ValidationError(error.message) }
        // The index kept for these settings: the default file, or the variant named by them.
        let (session, state) = try DictionarySession.open(sae: saePath, acts: actsPath, index: index, tokenizer: tokenizer, options: options)
        let second = try secondDictionary(alongside: session, options: options)
        let modelPlan = try ModelAttachmentPlan.make(options: modelOptions, disabled: noModel, session: session,
                                                    maxTokens: maxTokens, unembedGiven: unembed != nil)
        var vocabularyWarning: String?
        if let unembed {
            let unembedding = try Unembedding(path: unembed, dimension: session.sae.outputDimension)
            if let tokenizer = session.tokenizer { vocabularyWarning = try unembedding.checkVocabulary(against: tokenizer) }
            session.unembedding = unembedding
        }
        let themeLoad = loadTheme()

        let screen = try TerminalScreen.open(mouse: !noMouse)
        defer { screen.restore() }
        let wakePipe = screen.wakePipe
        let jobs = JobCenter(wake: { wakePipe.wake() })
        let controller = AppController(session: session, indexState: state, jobs: jobs, theme: themeLoad.theme, options: options)
        let notices = session.notices + [specialTokensNotice, vocabularyWarning].compactMap { $0 }
        // After what the controller said on starting (e.g. "indexing in the background"), not over it.
        if !notices.isEmpty {
            let current = controller.model.message.flatMap { $0.isError ? nil : $0.text }
            controller.setMessage(([current].compactMap { $0 } + notices).joined(separator: "; "), isError: false)
        }
        if let problem = themeLoad.error ?? themeLoad.warnings.first {
            controller.setMessage(problem, isError: themeLoad.error != nil)
        }
        openLabels(controller, weightsPath: session.sae.provenance.weightsPath)
        controller.loadProbes(paths: probePaths())
        if let second {
            controller.attachComparison(second.0, indexState: second.1, start: sae2 != nil)
            let weights = second.0.sae.provenance.weightsPath
            controller.attachComparedLabels { try LabelStore(weightsPath: weights) }
        }
        modelPlan.apply(to: controller)
        UILoop(screen: screen, controller: controller).run()
        controller.detachModel()  // the model process dies with saescope, loaded or loading
        // Quit by a signal: exit as the shell expects (128 + signal number); quit by a key: 0.
        InterfaceExit.end(screen: screen, jobs: jobs, status: TerminalGuard.interruptSignal.map { 128 + $0 } ?? 0)
    }

    /// --sae2; with no --sae either, the sample's second dictionary (idle until the compare screen is opened).
    private func secondDictionary(alongside session: DictionarySession, options: FeatureIndexOptions) throws
        -> (DictionarySession, DictionarySession.IndexState)? {
        var path = sae2
        if path == nil, sae == nil, let samples = SampleLocation.find() {
            let sample = (samples as NSString).appendingPathComponent("dictionaries/dictionary_learning/trainer_1")
            if FileManager.default.fileExists(atPath: sample) { path = sample }
        }
        return try path.map { try ComparisonSession.open(sae: $0, index: index2, alongside: session, options: options) }
    }

    /// The --probes given; with no --sae either, the sample's probe datasets.
    private func probePaths() -> [String] {
        guard probes.isEmpty, sae == nil, let samples = SampleLocation.find() else { return probes }
        let folder = (samples as NSString).appendingPathComponent("probes")
        return FileManager.default.fileExists(atPath: folder) ? [folder] : []
    }

    /// The sample when nothing is given; --acts is needed with --sae unless --index says where to look.
    private func resolveInputs() throws -> (String, String?) {
        if let sae { return (sae, acts) }
        guard let samples = SampleLocation.find() else {
            throw SaescopeError("no --sae given and the bundled samples/ folder was not found (run from the repository, or set SAESCOPE_SAMPLES)")
        }
        return ((samples as NSString).appendingPathComponent("dictionaries/dictionary_learning/trainer_0"),
                acts ?? (samples as NSString).appendingPathComponent(SampleLocation.activations))
    }

    /// What to give with `--index` alone: the dictionary the index records, or for an index of a
    /// latent cache built without one (`index --codes` alone), the dictionary whose codes they are.
    static func missingDictionary(index: String) -> String {
        guard let provenance = try? IndexFile.read(path: index).provenance else {
            return "--index needs --sae, the dictionary the index was built for"
        }
        if provenance.hasNoDictionary {
            return "--index needs --sae: \(index) was built from a latent cache without a dictionary (index --codes); "
                + "the browser needs the dictionary whose codes they are, for its decoder"
        }
        let cache = provenance.isFromLatentCodes ? "" : " --acts \(provenance.cachePath)"
        return "--index needs --sae, the dictionary it was built for: --sae \(provenance.saePath)\(cache)"
    }

    private func loadTheme() -> ThemeLoad {
        if theme.hasSuffix(".toml") || theme.contains("/") { return Theme.load(file: theme) }
        return Theme.load(named: theme, searchPaths: Theme.searchPaths(environment: ProcessInfo.processInfo.environment))
    }
}

/// Where the bundled samples are: $SAESCOPE_SAMPLES, ./samples, or beside the repository the
/// binary was built in (.build/<config>/saescope -> ../../samples).
enum SampleLocation {
    /// The sample's activation cache, relative to the samples folder (samples/README.md).
    static let activations = "activations/smollm2_l15_pride_and_prejudice.safetensors"

    static func find() -> String? {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["SAESCOPE_SAMPLES"] { candidates.append(env) }
        candidates.append((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent("samples"))
        var folder = (CommandLine.arguments[0] as NSString).resolvingSymlinksInPath as NSString
        for _ in 0..<5 {
            folder = folder.deletingLastPathComponent as NSString
            candidates.append(folder.appendingPathComponent("samples"))
        }
        return candidates.first { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("dictionaries")) }
    }
}
