import Foundation

/// JSON text that keeps Python's int/float distinction: a Swift `Double` is always written with
/// a decimal point or exponent (`0.0`, `1e-05`), an `Int` without, as Python's `json.dumps` writes
/// the runner's floats and ints. (Foundation's JSONSerialization writes the double 0 as `0`, which
/// Python reads back as an int.) Keys are sorted. Values: String, Int, Double, Bool, NSNull,
/// arrays and [String: Any] of them; a non-finite double is an error (JSON has none). (Compare's
/// `JSONWriter` writes in order as it goes; this writes a finished tree, and quotes as it does.)
enum TypedJSON {
    static func encode(_ value: Any) throws -> [UInt8] {
        var out = ""
        try write(value, into: &out)
        return Array(out.utf8)
    }

    private static func write(_ value: Any, into out: inout String) throws {
        switch value {
        case let text as String: quote(text, into: &out)
        case let flag as Bool: out += flag ? "true" : "false"
        case let number as Int: out += String(number)
        case let number as Double:
            guard number.isFinite else { throw SaescopeError("cannot write \(number) in JSON") }
            // Swift's description is the shortest round-trip form, with ".0" on whole numbers.
            out += number.description
        case is NSNull: out += "null"
        case let object as [String: Any]:
            out += "{"
            for (i, key) in object.keys.sorted().enumerated() {
                if i > 0 { out += ", " }
                quote(key, into: &out)
                out += ": "
                try write(object[key]!, into: &out)
            }
            out += "}"
        case let array as [Any]:
            out += "["
            for (i, element) in array.enumerated() {
                if i > 0 { out += ", " }
                try write(element, into: &out)
            }
            out += "]"
        default:
            throw SaescopeError("cannot write a \(type(of: value)) in JSON")
        }
    }

    private static func quote(_ text: String, into out: inout String) { out += JSONWriter.quoted(text) }
}
