import Foundation
import SAECore

/// How `saescope text` prints a scan (a table, or one JSON object) and scored examples.
struct TextScanPrinter {
    let vocabulary: TokenizerVocabulary?
    let info: ModelBridge.Info
    /// Tokens per window, the prefix included.
    let context: Int

    /// Token `id` as it reads in running text (its id when the tokenizer is unknown).
    func piece(_ id: Int32) -> String { vocabulary?.piece(Int(id)) ?? "<\(id)>" }

    /// A token for a table cell: quoted, with newlines and tabs visible.
    func shown(_ id: Int32) -> String {
        "\"" + piece(id).replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
    }

    private var site: String { info.layer.isEmpty ? info.hook : "layer \(info.layer) (\(info.hook))" }

    func table(_ scan: TextFeatureScan, top: Int, feature: Int?) -> String {
        var lines = ["\(info.model) at \(site): \(scan.tokens.count) tokens in \(scan.windows.count) window\(scan.windows.count == 1 ? "" : "s") of at most \(context)"]
        let width = min(24, scan.tokens.map { shown($0).count }.max() ?? 5)
        let head = "  pos  " + "token".padding(toLength: width, withPad: " ", startingAt: 0)
            + (feature.map { "  " + "#\($0)".leftAligned(10) } ?? "") + "  top features"
        lines.append(head)
        for t in scan.tokens.indices {
            var line = String(t).rightAligned(5) + "  " + shown(scan.tokens[t]).leftAligned(width)
            if let feature { line += "  " + Self.number(scan.activation(of: feature, at: t)).leftAligned(10) }
            let features = scan.features(at: t).prefix(top)
            line += "  " + (features.isEmpty ? "-" : features.map { "#\($0.feature) \(Self.number($0.value))" }.joined(separator: "  "))
            lines.append(line)
        }
        if let feature {
            let best = scan.maxActivation(of: feature)
            lines.append(best.position.map { "feature \(feature): max \(Self.number(best.value)) at token \($0) \(shown(scan.tokens[$0]))" }
                         ?? "feature \(feature) does not fire on the text")
        }
        return lines.joined(separator: "\n")
    }

    func json(_ scan: TextFeatureScan, top: Int, feature: Int?) -> String {
        var object: [String: Any] = [
            "model": info.model, "hook": info.hook, "layer": info.layer, "context": context,
            "windows": scan.windows.map { [$0.lowerBound, $0.upperBound] },
            "prefix_token_ids": info.prefixTokenIDs,
            "tokens": scan.tokens.indices.map { t -> [String: Any] in
                var token: [String: Any] = [
                    "position": t, "id": Int(scan.tokens[t]), "text": piece(scan.tokens[t]),
                    "features": scan.features(at: t).prefix(top).map { ["feature": $0.feature, "activation": Double($0.value)] },
                ]
                if let feature { token["activation"] = Double(scan.activation(of: feature, at: t)) }
                return token
            },
        ]
        if let feature {
            let best = scan.maxActivation(of: feature)
            object["feature"] = ["feature": feature, "max_activation": Double(best.value), "max_position": best.position as Any]
        }
        return Self.serialize(object)
    }

    func examplesTable(_ scores: [TextExampleScore], file: String) -> String {
        var lines = ["\(file): \(scores.count) examples, \(scores.filter(\.matches).count) as expected (\(info.model) at \(site))",
                     "  #  feature  expected  fired  max         token             match  text"]
        for (n, score) in scores.enumerated() {
            let token = score.token.map { shown($0) } ?? "-"
            lines.append(String(n + 1).rightAligned(3) + "  " + "#\(score.example.feature)".leftAligned(7) + "  "
                         + (score.example.shouldFire ? "fire" : "silent").leftAligned(8) + "  " + (score.fired ? "yes" : "no").leftAligned(5)
                         + "  " + Self.number(score.maxActivation).leftAligned(10) + "  " + String(token.prefix(16)).leftAligned(16)
                         + "  " + (score.matches ? "ok" : "NO").leftAligned(5) + "  " + Quoted.text(score.example.text, limit: 60))
        }
        return lines.joined(separator: "\n")
    }

    func examplesJSON(_ scores: [TextExampleScore], file: String) -> String {
        Self.serialize([
            "file": file, "model": info.model, "hook": info.hook, "layer": info.layer,
            "examples": scores.count, "matching": scores.filter(\.matches).count,
            "results": scores.map { score -> [String: Any] in
                ["text": score.example.text, "feature": score.example.feature, "should_fire": score.example.shouldFire,
                 "fired": score.fired, "matches": score.matches, "max_activation": Double(score.maxActivation),
                 "max_position": score.position as Any, "max_token": score.token.map { piece($0) } as Any]
            },
        ])
    }

    /// An activation as the tables show it: four significant digits.
    static func number(_ x: Float) -> String { String(format: "%.4g", Double(x)) }

    static func serialize(_ object: [String: Any]) -> String {
        // Float -> Double is exact, so a reader gets the encoder's float32 values back exactly.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

private extension String {
    func leftAligned(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func rightAligned(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
