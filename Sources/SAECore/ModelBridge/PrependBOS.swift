import Foundation

/// Whether texts sent to the model start with its BOS token. A cache records the prefix its
/// sequences got (`prefix_token_ids`); texts scored beside it (the text screen, `eval --text`)
/// must get the same, or their first token becomes the attention sink the dictionary never saw
/// (SmolLM2's GGUF tokenizer adds no BOS, while the sample's cache was made with one).
public enum PrependBOS {
    public static let modes = ["auto", "always", "never"]

    /// "always" when the cache's sequences start with its BOS id; nil (the tokenizer's own
    /// special tokens) otherwise, or when the cache does not say.
    public static func mode(forCache metadata: [String: String]) -> String? {
        guard let bos = metadata["bos_token_id"].flatMap({ Int($0) }),
              let text = metadata["prefix_token_ids"],
              let prefix = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [Int],
              prefix.first == bos else { return nil }
        return "always"
    }
}
