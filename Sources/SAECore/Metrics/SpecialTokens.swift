import Foundation

/// `--exclude-special`: rows whose token id is the cache's BOS, EOS or PAD id are left out of
/// every metric and of the index, as SAEBench's core eval does (`ignore_tokens` = the
/// tokenizer's pad, eos and bos ids) and SAELens' `exclude_special_tokens`. On Llama-family
/// models the BOS row's norm is far above the rest and would dominate MSE and explained variance.
public struct SpecialTokenExclusion: Sendable, Equatable {
    /// The excluded ids with the metadata key each came from ("bos_token_id", ...), sorted by id.
    public let ids: [(id: Int32, key: String)]

    public static func == (a: Self, b: Self) -> Bool {
        a.ids.map(\.id) == b.ids.map(\.id) && a.ids.map(\.key) == b.ids.map(\.key)
    }

    private let idSet: Set<Int32>

    public init(ids: [(id: Int32, key: String)]) {
        self.ids = ids.sorted { ($0.id, $0.key) < ($1.id, $1.key) }
        idSet = Set(ids.map(\.id))
    }

    public static let metadataKeys = ["bos_token_id", "eos_token_id", "pad_token_id"]

    /// The exclusion for `cache`: its metadata's special ids. Fails, naming the cache, when it
    /// has no token ids or names none of the three.
    public static func forCache(_ cache: ActivationCache) throws -> SpecialTokenExclusion {
        guard cache.hasTokens else {
            throw SaescopeError("--exclude-special needs the cache's token ids (a `tokens` tensor); this cache has none", file: cache.path)
        }
        return try forMetadata(cache.metadata, path: cache.path)
    }

    public static func forMetadata(_ metadata: [String: String], path: String) throws -> SpecialTokenExclusion {
        var ids: [(Int32, String)] = []
        for key in metadataKeys {
            guard let text = metadata[key], !text.isEmpty else { continue }
            guard let id = Int32(text), id >= 0 else {
                throw SaescopeError("metadata \(key) is '\(text)', not a token id", file: path)
            }
            ids.append((id, key))
        }
        guard !ids.isEmpty else {
            throw SaescopeError("--exclude-special needs the special token ids in the cache's metadata (bos_token_id, eos_token_id or pad_token_id); this cache names none", file: path)
        }
        return SpecialTokenExclusion(ids: ids)
    }

    @inline(__always)
    public func excludes(_ token: Int32) -> Bool { idSet.contains(token) }

    /// "101 (BOS), 102 (EOS)".
    public var idList: String {
        ids.map { "\($0.id) (\($0.key.replacingOccurrences(of: "_token_id", with: "").uppercased()))" }.joined(separator: ", ")
    }
}

/// Whether a dictionary's own config records that it was trained without special tokens:
/// dictionary_learning's buffer `remove_bos: true`, or SAELens' `exclude_special_tokens`
/// (true or a non-empty list of ids; under `metadata` in 6.x configs, at the top before).
public enum SpecialTokenDefault {
    /// The config key that says so ("buffer.remove_bos in config.json"), or nil.
    public static func recordedExclusion(_ sae: SparseAutoencoder) -> String? {
        sae.provenance.configPath.flatMap(recordedExclusion(configPath:))
    }

    /// The same from a dictionary path before loading it (`open` names its index by the setting
    /// first): the config.json / cfg.json in the folder, or beside a weights file.
    public static func recordedExclusion(dictionaryPath path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        let folder = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
        for name in ["cfg.json", "config.json"] {
            let candidate = (folder as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate) { return recordedExclusion(configPath: candidate) }
        }
        return nil
    }

    public static func recordedExclusion(configPath path: String) -> String? {
        guard let config = try? JSONConfig.read(path: path) else { return nil }
        let file = (path as NSString).lastPathComponent
        if let buffer = config.values["buffer"] as? [String: Any], buffer["remove_bos"] as? Bool == true {
            return "buffer.remove_bos in \(file)"
        }
        for (prefix, values) in [("metadata.", config.values["metadata"] as? [String: Any]), ("", config.values)] {
            guard let values, let setting = values["exclude_special_tokens"] else { continue }
            if setting as? Bool == true || ((setting as? [Any])?.isEmpty == false) {
                return "\(prefix)exclude_special_tokens in \(file)"
            }
        }
        return nil
    }
}

/// Which rows a table covers, for the line every table prints.
public struct RowCoverage: Sendable, Equatable {
    /// Rows evaluated (finite, not excluded).
    public var evaluated: Int
    /// Rows left out because they held NaN or infinity.
    public var skipped: Int
    /// Rows left out because they hold a special token id (nil: no exclusion asked).
    public var excluded: Int?
    /// The excluded ids, as `SpecialTokenExclusion.idList` spells them.
    public var excludedIDs: String?
    /// Why `--exclude-special` could not run on these rows, as the line says it after the row
    /// count; nil when it could (then the line offers it).
    public var withoutExclusion: String?

    /// `withoutExclusion` of a cache whose metadata names no special token ids.
    public static let noSpecialIDs = "(the cache names no special token ids, so none are left out)"
    /// `withoutExclusion` of a latent cache (`index --codes`), which has no token rows to leave out.
    public static let latentCache = "of the latent cache"

    public init(evaluated: Int, skipped: Int, excluded: Int?, excludedIDs: String?, withoutExclusion: String? = nil) {
        self.evaluated = evaluated
        self.skipped = skipped
        self.excluded = excluded
        self.excludedIDs = excludedIDs
        self.withoutExclusion = withoutExclusion
    }

    /// "24108 rows; special tokens excluded: 468 rows of ids 101 (BOS), 102 (EOS) left out".
    public var summary: String {
        guard let excluded else {
            return withoutExclusion.map { "\(evaluated) rows \($0)" }
                ?? "\(evaluated) rows, special tokens included (--exclude-special leaves them out)"
        }
        return "\(evaluated) rows; special tokens excluded: \(excluded) rows holding ids \(excludedIDs ?? "?") left out"
    }

    /// As a JSON object: evaluated, skipped_non_finite, exclude_special, and with the exclusion
    /// excluded_special (rows) and excluded_ids.
    public var json: String {
        var fields = ["\"evaluated\": \(evaluated)", "\"skipped_non_finite\": \(skipped)", "\"exclude_special\": \(excluded != nil)"]
        if let excluded {
            fields.append("\"excluded_special\": \(excluded)")
            fields.append("\"excluded_ids\": " + JSONWriter.quoted(excludedIDs ?? ""))
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }
}
