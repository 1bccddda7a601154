import Foundation

/// Parses a feature list: `1,5,9-12`, `all`, or `@file` (one id per line, `#` comments allowed).
public enum FeatureSelection {
    public static func parse(_ spec: String, featureCount: Int) throws -> [Int] {
        let range = "valid ids are 0 to \(featureCount - 1)"
        if spec == "all" { return Array(0..<featureCount) }
        var items: [String]
        if spec.hasPrefix("@") {
            let path = String(spec.dropFirst())
            guard let text = String(data: try InputFile.contents(path), encoding: .utf8) else {
                throw SaescopeError("the feature list is not UTF-8 text", file: path)
            }
            items = text.split(whereSeparator: \.isNewline).map { String($0.split(separator: "#", omittingEmptySubsequences: false)[0]) }
        } else {
            items = spec.split(separator: ",").map(String.init)
        }
        items = items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var ids: [Int] = []
        var seen = Set<Int>()
        for item in items {
            // Every part must be a plain non-negative number: '-1' and '1-' are errors, not feature 1.
            let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { part -> Int? in
                let digits = part.trimmingCharacters(in: .whitespaces)
                return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) ? Int(digits) : nil
            }
            guard let first = bounds.first ?? nil, let last = bounds.count == 2 ? bounds[1] : first, first <= last else {
                throw SaescopeError("'\(Quoted.text(item, limit: 60))' is not a feature id or range (use e.g. 1,5,9-12, all, or @file)")
            }
            for id in first...last {
                guard id >= 0, id < featureCount else { throw SaescopeError("feature \(id) does not exist: \(range)") }
                if seen.insert(id).inserted { ids.append(id) }
            }
        }
        guard !ids.isEmpty else { throw SaescopeError("no features selected") }
        return ids
    }
}
