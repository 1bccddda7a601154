#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The check every command runs before it writes an output file the user named: an existing
/// file is replaced only when asked (`--force`), and a file this run reads is never replaced,
/// asked or not (`index --sae D --out D/ae.pt` would destroy the dictionary it reads).
/// Files are compared by identity (device and inode), so another spelling of the same path,
/// a hard link or a symlink to an input is recognised too.
public enum OutputFile {
    /// Most files looked at inside input folders (a dictionary or cache folder holds a handful).
    static let maximumFilesScanned = 10_000
    /// How deep input folders are searched (sparsify: folder/hookpoint/sae.safetensors).
    static let maximumDepth = 3

    public static func checkWritable(_ path: String, overwrite: Bool, inputs: [String]) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }  // nothing there: nothing to replace
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw SaescopeError("is a directory; give a file name to write", file: path)
        }
        try checkNotAnInput(path, inputs: inputs)
        guard overwrite else {
            throw SaescopeError("exists already; pass --force to replace it", file: path)
        }
    }

    /// Refuses `path` when it is (or, for a folder, holds) one of this run's inputs.
    public static func checkNotAnInput(_ path: String, inputs: [String]) throws {
        let targets = identities(of: path)
        guard !targets.isEmpty else { return }
        for input in inputs where !identities(of: input).isDisjoint(with: targets) {
            throw SaescopeError("is read by this run (as \(input)); refusing to write over an input, even with --force", file: path)
        }
    }

    struct Identity: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    /// The identities of `path` and, for a folder, of the files inside it (a few levels deep).
    static func identities(of path: String) -> Set<Identity> {
        var found = Set<Identity>()
        var pending = [(path, 0)]
        var scanned = 0
        while let (current, depth) = pending.popLast(), scanned < maximumFilesScanned {
            scanned += 1
            var info = stat()
            guard stat(current, &info) == 0 else { continue }
            found.insert(Identity(info))
            guard (info.st_mode & S_IFMT) == S_IFDIR, depth < maximumDepth else { continue }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: current)) ?? []
            for name in names.prefix(maximumFilesScanned) {
                pending.append(((current as NSString).appendingPathComponent(name), depth + 1))
            }
        }
        return found
    }
}
