/// Pickles that name one object exponentially many times through the memo (a 1 KB `ae.pt`
/// whose state dict, expanded, would be gigabytes): the shape of issue #13's item 5, for the
/// unpickler's unit tests and the bad-input corpus.
public enum MemoBomb {
    public enum Leaf {
        case stridedTensor(rows: Int)
        case string(Int)
    }

    /// `{"w": leaf}`, then `levels` dicts each holding the previous one twice through the memo.
    public static func sharedDict(levels: Int, keyLength: Int, leaf: Leaf) -> [UInt8] {
        var pickle = PickleWriter()
        pickle.proto(2)
        pickle.emptyDict()
        pickle.string("w")
        switch leaf {
        case .stridedTensor(let rows):
            pickle.tensorV2(storage: "FloatStorage", key: "0", numel: 1, offset: 0, size: [rows, 1024], stride: [0, 0])
        case .string(let length):
            pickle.string(String(repeating: "s", count: length))
        }
        pickle.setItem()
        pickle.binput(0)
        for level in 1...levels {
            pickle.emptyDict()
            for name in ["a", "b"] {
                pickle.string(String(repeating: name, count: keyLength))
                pickle.binget(UInt8(level - 1))
                pickle.setItem()
            }
            pickle.binput(UInt8(level))
        }
        pickle.stop()
        return TestZip.torchCheckpoint(pickle: pickle.bytes, storages: ["0": [0, 0, 0x80, 0x3F]])
    }

    /// A list holding the previous list twice, `levels` deep, inside a one-tensor state dict.
}
