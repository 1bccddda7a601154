import Foundation

/// What scoring a text needs of a language model: the model bridge's child process, or a fake
/// in tests.
public protocol TextActivationModel: AnyObject {
    /// The ids the tokenizer puts before a text (BOS), which every window starts with.
    var prefixTokenIDs: [Int32] { get }
    /// The most positions the model takes (nil: unknown).
    var contextLength: Int? { get }
    /// The width of the activations at the hook.
    var hiddenWidth: Int { get }
    func tokenize(_ text: String) throws -> [Int32]
    /// Activations `[B, T, D]` at the hook for sequences padded to the longest (`T`).
    func activations(_ sequences: [[Int32]], keep: Bool) throws -> (values: [Float], length: Int)
}

extension ModelBridge: TextActivationModel {
    public var prefixTokenIDs: [Int32] { info.prefixTokenIDs.map { Int32($0) } }
    public var contextLength: Int? { info.contextLength }
    public var hiddenWidth: Int { info.dModel }
}

/// Which features fire on which token of a text: the text tokenized by the model, its
/// activations at the hook taken window by window (each window the tokenizer's prefix plus at
/// most `context - prefix` of the text's tokens, so a text longer than the model's context is
/// scored in pieces that each see only their own window), and encoded with saescope's own
/// encoder. The prefix positions are run but not reported: rows are the text's own tokens.
/// `saescope text` prints this; the text screen is to draw the same.
public struct TextFeatureScan: Sendable {
    /// The text's token ids (no prefix).
    public let tokens: [Int32]
    /// The token positions of each window the model ran.
    public let windows: [Range<Int>]
    /// Row t: the codes of token t.
    public let codes: LatentCodes

    /// Positions `0..<tokenCount` cut into windows of at most `context - prefixCount` tokens.
    public static func windows(tokenCount: Int, prefixCount: Int, context: Int) throws -> [Range<Int>] {
        let body = context - prefixCount
        guard body > 0 else {
            throw SaescopeError("a context of \(context) tokens leaves no room for text after the \(prefixCount) prefix tokens")
        }
        return stride(from: 0, to: tokenCount, by: body).map { $0..<min(tokenCount, $0 + body) }
    }

    /// Tokenizes `text` with `model`, runs it window by window (`context`: the model's own
    /// context length when nil) and encodes every token's activation with `sae`.
    public init(text: String, model: TextActivationModel, sae: SparseAutoencoder, context: Int? = nil) throws {
        guard model.hiddenWidth == sae.inputDimension else {
            throw SaescopeError("the model's activations at the hook have width \(model.hiddenWidth) but the dictionary (\(sae.provenance.weightsPath)) expects D=\(sae.inputDimension)")
        }
        let tokens = try model.tokenize(text)
        guard !tokens.isEmpty else { throw SaescopeError("the text has no tokens") }
        let prefix = model.prefixTokenIDs
        let windows = try Self.windows(tokenCount: tokens.count, prefixCount: prefix.count,
                                       context: context ?? model.contextLength ?? Self.fallbackContext)
        let d = sae.inputDimension
        var rows = [Float]()
        rows.reserveCapacity(tokens.count * d)
        for window in windows {
            let (values, length) = try model.activations([prefix + tokens[window]], keep: false)
            guard values.count == length * d, length == prefix.count + window.count else {
                throw SaescopeError("the model process sent activations of \(values.count) values for \(prefix.count + window.count) tokens of width \(d)")
            }
            rows += values[(prefix.count * d)..<(length * d)]
        }
        try self.init(tokens: tokens, windows: windows, activations: rows, sae: sae)
    }

    /// The codes of activations `[tokens.count, D]` taken elsewhere (a test's reference run).
    public init(tokens: [Int32], windows: [Range<Int>], activations: [Float], sae: SparseAutoencoder) throws {
        let d = sae.inputDimension
        guard activations.count == tokens.count * d else {
            throw SaescopeError("\(activations.count) activation values for \(tokens.count) tokens of width \(d)")
        }
        if let bad = activations.firstIndex(where: { !$0.isFinite }) {
            throw SaescopeError("the model's activation at token \(bad / d) is not finite")
        }
        self.tokens = tokens
        self.windows = windows
        codes = LatentCodes(encoding: Matrix(rows: tokens.count, columns: d, values: activations.map(Double.init)), with: sae)
    }

    /// Windows when neither the caller nor the model says how long a context may be.
    public static let fallbackContext = 1024

    /// The features active at token `t`, highest first (ties: lower id first).
    public func features(at t: Int) -> [(feature: Int, value: Float)] { codes.ranked(row: t) }

    /// Feature `f`'s activation at token `t` (0 where it does not fire).
    public func activation(of f: Int, at t: Int) -> Float { codes.value(of: f, row: t) }

    /// Feature `f`'s highest activation over the text and the first token holding it (value 0,
    /// position nil: it never fires).
    public func maxActivation(of f: Int) -> (value: Float, position: Int?) {
        var best: (value: Float, position: Int?) = (0, nil)
        for t in tokens.indices {
            let a = activation(of: f, at: t)
            if a != 0, best.position == nil || a > best.value { best = (a, t) }
        }
        return best
    }
}

extension LatentCodes {
    /// Row `r`'s nonzero codes, highest first (ties: lower feature id first).
    public func ranked(row r: Int) -> [(feature: Int, value: Float)] {
        (rowStart[r]..<rowStart[r + 1])
            .map { (feature: Int(features[$0]), value: values[$0]) }
            .filter { $0.value != 0 }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.feature < $1.feature }
    }

    /// Feature `f`'s code in row `r` (0 where it is not active).
    public func value(of f: Int, row r: Int) -> Float {
        (rowStart[r]..<rowStart[r + 1]).first { features[$0] == Int32(f) }.map { values[$0] } ?? 0
    }
}
