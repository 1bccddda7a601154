import Foundation
import SAECore
import TUI

/// The `:` command line: `:1234` jumps to a feature; the rest are words with arguments.
extension AppController {
    static let commandHelp = [
        ":1234                      open feature 1234",
        ":sort id|density|max|mean|token [asc|desc]",
        ":filter all|alive|dead     :density MIN MAX (- for open)",
        ":status unreviewed|interpretable|uninterpretable|dead|all   :tag NAME (:tag alone: off)",
        ":theme dark|light|high-contrast",
        ":reindex top-k=20 context=5 min-act=0 first-token=T max-tokens=N|all exclude-special=on|off",
        ":export json|jsonl|csv|md|safetensors PATH [force]",
        ":ce                        CE loss again with the attached model",
        ":q                         quit",
    ]

    public func runCommandLine(_ text: String) {
        let words = text.split(separator: " ").map(String.init)
        guard let head = words.first else { return }
        if let id = Int(head) {
            jump(to: id)
            return
        }
        let arguments = Array(words.dropFirst())
        do {
            switch head {
            case "q", "quit": perform(.quit)
            case "sort": try sortCommand(arguments)
            case "filter":
                guard let liveness = arguments.first.flatMap(FeatureFilter.Liveness.init(rawValue:)) else {
                    throw CommandLineError("filter takes all, alive or dead")
                }
                updateList { $0.filter.liveness = liveness }
            case "density":
                guard arguments.count == 2 else { throw CommandLineError("density takes MIN MAX, e.g. :density 1e-4 0.01 (- for open)") }
                let bounds = try arguments.map { word -> Double? in
                    if word == "-" { return nil }
                    guard let value = Double(word), value >= 0 else { throw CommandLineError("\(word) is not a density") }
                    return value
                }
                updateList { $0.filter.minDensity = bounds[0]; $0.filter.maxDensity = bounds[1] }
            case "status", "tag": try labelFilterCommand(head, arguments)
            case "theme":
                guard let name = arguments.first, let theme = Theme.builtin(named: name) else {
                    throw CommandLineError("themes: \(Theme.builtinNames.joined(separator: ", "))")
                }
                setTheme(theme)
            case "reindex": try reindexCommand(arguments)
            case "ce": recomputeModelLoss()
            case "export":
                guard arguments.count >= 2, let format = FeatureExporter.Format(rawValue: arguments[0]) else {
                    throw CommandLineError("export takes a format (json, jsonl, csv, md, safetensors) and a path")
                }
                guard !model.marks.isEmpty else { throw CommandLineError("no marked features (Space marks one)") }
                startExport(format: format, path: arguments[1], overwrite: arguments.dropFirst(2).contains("force"))
            default:
                throw CommandLineError("unknown command :\(head) (? lists commands)")
            }
        } catch let error as CommandLineError {
            setMessage(error.text, isError: true)
        } catch {
            setMessage(String(describing: error), isError: true)
        }
    }

    private func jump(to id: Int) {
        guard let index = model.index else { setMessage("no index yet", isError: true); return }
        guard id >= 0, id < index.featureCount else {
            setMessage("no feature \(id): ids run from 0 to \(index.featureCount - 1)", isError: true)
            return
        }
        // Opened even when the filter hides it: the id was asked for by name.
        if model.screen == .detail {
            model.detail.history.append(model.detail.feature)
            showFeature(id)
        } else {
            if model.screen != .features { perform(.showFeatures) }
            openFeature(id)
        }
    }

    private func sortCommand(_ arguments: [String]) throws {
        guard let key = arguments.first.flatMap(FeatureSortKey.init(rawValue:)) else {
            throw CommandLineError("sort takes id, density, max, mean or token")
        }
        let ascending: Bool
        switch arguments.dropFirst().first {
        case nil: ascending = key.defaultAscending
        case "asc": ascending = true
        case "desc": ascending = false
        case let other?: throw CommandLineError("\(other): say asc or desc")
        }
        updateList { $0.sort = key; $0.ascending = ascending }
    }

    private func reindexCommand(_ arguments: [String]) throws {
        var options = model.indexOptions
        for argument in arguments {
            let pair = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw CommandLineError("\(argument): write setting=value") }
            let (name, value) = (pair[0], pair[1])
            func integer() throws -> Int {
                guard let n = Int(value), n >= 0 else { throw CommandLineError("\(name) takes a whole number, not \(value)") }
                return n
            }
            switch name {
            case "top-k": options.topK = try integer()
            case "context": options.context = try integer()
            case "intervals": options.intervals = try integer()
            case "per-interval": options.perInterval = try integer()
            case "bins": options.bins = try integer()
            case "min-act":
                guard let t = Float(value), t >= 0 else { throw CommandLineError("min-act takes a number >= 0") }
                options.minActivation = t
            case "max-tokens": options.maxTokens = value == "all" ? nil : try integer()
            case "first-token": options.firstToken = value == "0" ? nil : try integer()
            case "seed": options.seed = UInt64(try integer())
            case "exclude-special":
                guard value == "on" || value == "off" else { throw CommandLineError("exclude-special takes on or off") }
                options.excludeSpecial = value == "on" ? true : nil
            default: throw CommandLineError("unknown setting \(name) (top-k, context, intervals, per-interval, bins, min-act, first-token, max-tokens, seed, exclude-special)")
            }
        }
        do { try options.validate() } catch let error as SaescopeError { throw CommandLineError(error.message) }
        // Said at the prompt rather than by a failing job: the cache must name its special ids.
        if options.excludesSpecial, let cache = session.cache {
            do { _ = try SpecialTokenExclusion.forCache(cache) } catch let error as SaescopeError { throw CommandLineError(error.description) }
        }
        startIndexing(options: options, reason: "new settings")
        reindexComparedDictionary()
    }

    /// B's index must cover what A's covers (same tokens, same settings) for the metrics rows and
    /// the exemplar overlap to compare like with like: a re-index of A rebuilds B's too, at once
    /// when the comparison has started, else when the compare screen first asks for it.
    private func reindexComparedDictionary() {
        guard let state = model.comparison else { return }
        if let running = state.indexJob { jobs.cancel(running) }
        model.comparison?.indexJob = nil
        model.comparison?.pendingIndexBuild = "\(session.name) was re-indexed with new settings"
        if state.result != nil || state.compareJob != nil { startComparisonWork() }
    }

    public func setMessage(_ text: String, isError: Bool) {
        model.message = StatusMessage(text: text, isError: isError)
    }
}

struct CommandLineError: Error {
    var text: String
    init(_ text: String) { self.text = text }
}
