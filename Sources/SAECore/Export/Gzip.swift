import CZlib

/// gzip compression (RFC 1952) through zlib's deflate, for `.jsonl.gz` exports.
public enum Gzip {
    public static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16 asks zlib for a gzip header and trailer.
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SaescopeError("cannot start gzip compression")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        let status: Int32 = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw SaescopeError("gzip compression failed (zlib status \(status))") }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }
}

extension Gzip {
    /// The bytes of a gzip file, decompressed (zlib's gzread also passes a plain file through).
    public static func readFile(_ path: String) throws -> [UInt8] {
        guard let file = gzopen(path, "rb") else { throw SaescopeError("cannot open", file: path) }
        defer { gzclose(file) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw SaescopeError("not a readable gzip file (\(String(cString: gzerror(file, nil))))", file: path) }
            if n == 0 { return output }
            output += chunk[0..<Int(n)]
        }
    }
}
