import ArgumentParser
import SAECore

/// `--exact-fp32`, on every command that encodes tokens: the fp32 sgemm path instead of the
/// screened int8/bf16 one (same codes up to the last bits and threshold ties; for comparison).
struct EncodePrecisionOptions: ParsableArguments {
    @Flag(name: .customLong("exact-fp32"), help: "Encode with the fp32 sgemm only, not the screened int8/bf16 encode (same codes up to threshold ties; slower). Also SAESCOPE_EXACT_FP32=1.")
    var exactFP32 = false

    /// Sets the choice for this process and the processes it starts (model bridge, shards).
    func apply() {
        if exactFP32 { SAEEncoder.forceExactFP32() }
    }
}
