/// An RFC 4180 CSV reader: quoted fields with commas, `""` escapes and embedded newlines,
/// CRLF or LF line ends, a missing final newline, and a UTF-8 byte-order mark.
public enum CSVReader {
    /// All records of `text`; the first is the header when the file has one.
    public static func parse(_ text: String, source: String) throws -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var i = 0
        var quoted = false, fieldStarted = false
        var line = 1
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldStarted = false
        }
        func endRecord() {
            endField()
            // A blank line is not a record.
            if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
            record = []
        }
        while i < bytes.count {
            let byte = bytes[i]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        i += 2
                        continue
                    }
                    quoted = false
                    i += 1
                    // After a closing quote only a separator or a line end may follow.
                    if i < bytes.count, ![UInt8(ascii: ","), 0x0A, 0x0D].contains(bytes[i]) {
                        throw SaescopeError("line \(line): unexpected character after a closing quote", file: source)
                    }
                    continue
                }
                if byte == 0x0A { line += 1 }
                field.append(byte)
                i += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                guard field.isEmpty, !fieldStarted else {
                    throw SaescopeError("line \(line): a quote inside an unquoted field", file: source)
                }
                quoted = true
                fieldStarted = true
                i += 1
            case UInt8(ascii: ","):
                endField()
                i += 1
            case 0x0D:
                endRecord()
                i += (i + 1 < bytes.count && bytes[i + 1] == 0x0A) ? 2 : 1
                line += 1
            case 0x0A:
                endRecord()
                i += 1
                line += 1
            default:
                field.append(byte)
                fieldStarted = true
                i += 1
            }
        }
        guard !quoted else { throw SaescopeError("line \(line): a quoted field is never closed", file: source) }
        if fieldStarted || !field.isEmpty || !record.isEmpty { endRecord() }
        return records
    }

    /// Reads a boolean written as 0/1, true/false (any case), yes/no or t/f.
    public static func boolean(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "1.0", "true", "t", "yes", "y": true
        case "0", "0.0", "false", "f", "no", "n": false
        default: nil
        }
    }
}

import Foundation
