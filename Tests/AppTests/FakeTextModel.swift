import Foundation
import SAECore

/// A language model for the text screen's tests: it splits a text at spaces into the fixture
/// tokenizer's words (unknown words are [UNK]), puts [CLS] first, and gives each token the
/// fixture cache's own activation for that token id (`AppFixture.hashed`), so a word scores on
/// the screen exactly as it does in the cache. `contextLength` cuts long texts into windows;
/// `failure` makes every request fail as a dead model process does.
final class FakeTextModel: TextActivationModel, @unchecked Sendable {
    private let lock = NSLock()
    private let vocabulary: [String: Int32]
    private var failureMessage: String?
    private var requestCount = 0
    let contextLength: Int?
    let prefixTokenIDs: [Int32] = [0]
    let hiddenWidth = AppFixture.d

    init(contextLength: Int? = 64) {
        self.contextLength = contextLength
        let tokenizer = try! TokenizerVocabulary(jsonData: AppFixture.tokenizerJSON(), source: "fixture-tokenizer.json")
        var vocabulary: [String: Int32] = [:]
        for id in 0..<tokenizer.count { if let t = tokenizer.token(id) { vocabulary[t] = Int32(id) } }
        self.vocabulary = vocabulary
    }

    /// While held, activation requests wait (a slow model) until `release()`.
    private let gate = DispatchSemaphore(value: 1)
    func hold() { gate.wait() }
    func release() { gate.signal() }

    /// Every later request fails with `message` (nil: they work again).
    func fail(with message: String?) { lock.withLock { failureMessage = message } }

    /// Activation requests answered so far.
    var requests: Int { lock.withLock { requestCount } }

    func tokenize(_ text: String) throws -> [Int32] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { vocabulary[String($0)] ?? vocabulary["[UNK]"]! }
    }

    func activations(_ sequences: [[Int32]], keep: Bool) throws -> (values: [Float], length: Int) {
        gate.wait()
        gate.signal()
        try lock.withLock {
            if let failureMessage { throw SaescopeError(failureMessage) }
            requestCount += 1
        }
        let length = sequences.map(\.count).max() ?? 0
        var values: [Float] = []
        for sequence in sequences {
            for t in 0..<length {
                for k in 0..<hiddenWidth { values.append(t < sequence.count ? Float(AppFixture.hashed(Int(sequence[t]), k, -2, 3)) : 0) }
            }
        }
        return (values, length)
    }

    /// The fixture's embedding of `id` (the cache's activation of any row holding it).
    static func embedding(_ id: Int32) -> [Float] { (0..<AppFixture.d).map { Float(AppFixture.hashed(Int(id), $0, -2, 3)) } }
}
