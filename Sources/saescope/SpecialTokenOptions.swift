import ArgumentParser
import Foundation
import SAECore

/// `--exclude-special` / `--no-exclude-special` of `eval`, `index` and `open`.
struct SpecialTokenOptions: ParsableArguments {
    @Flag(name: .customLong("exclude-special"), help: "Leave rows holding the cache's BOS/EOS/PAD ids (its metadata's bos_token_id, eos_token_id, pad_token_id) out of every metric and of the index, as SAEBench and SAELens do. On by default when the dictionary's config records it was trained without them (dictionary_learning buffer.remove_bos, SAELens exclude_special_tokens).")
    var excludeSpecial = false

    @Flag(name: .customLong("no-exclude-special"), help: "Keep special-token rows even when the dictionary's config says it was trained without them.")
    var keepSpecial = false

    func validate() throws {
        if excludeSpecial && keepSpecial { throw ValidationError("give --exclude-special or --no-exclude-special, not both") }
    }

    /// Whether to exclude for this dictionary and cache. Asked for: the cache must name the ids
    /// (else an error naming it). By the dictionary's config only: a warning when the cache cannot.
    func resolve(dictionary: SparseAutoencoder, cache: ActivationCache) throws -> SpecialTokenExclusion? {
        try resolve(recorded: SpecialTokenDefault.recordedExclusion(dictionary), cache: cache)
    }

    /// `recorded`: where the dictionary's config says it was trained without special tokens.
    /// `note` receives the one-line notice of a default decision (standard error unless given:
    /// the interface shows it on its status line instead, so stderr stays for errors).
    func resolve(recorded: String?, cache: ActivationCache,
                 note: (String) -> Void = { FileHandle.standardError.write(Data("saescope: \($0)\n".utf8)) }) throws -> SpecialTokenExclusion? {
        if keepSpecial { return nil }
        if excludeSpecial { return try SpecialTokenExclusion.forCache(cache) }
        guard let reason = recorded else { return nil }
        do {
            let exclusion = try SpecialTokenExclusion.forCache(cache)
            note("special tokens excluded (\(exclusion.idList)) because the dictionary was trained without them (\(reason)); --no-exclude-special keeps them")
            return exclusion
        } catch let error as SaescopeError {
            note("warning: the dictionary was trained without special tokens (\(reason)) but they stay in: \(error)")
            return nil
        }
    }
}
