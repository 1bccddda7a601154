import Foundation

/// What the processor can run, as the operating system reports it: vendor, family and model,
/// and the instruction-set flags. On Linux these come from /proc/cpuinfo, whose flags the
/// kernel has already cleared for extensions the OS does not enable (AVX-512 state saving, AMX
/// tiles), so a flag listed there is one a program may use.
public struct CPUFeatures: Sendable, Equatable {
    public var vendor: String
    public var family: Int?
    public var model: Int?
    public var modelName: String
    public var flags: Set<String>

    public init(vendor: String, family: Int? = nil, model: Int? = nil, modelName: String = "", flags: Set<String>) {
        self.vendor = vendor
        self.family = family
        self.model = model
        self.modelName = modelName
        self.flags = flags
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// AMD and Hygon processors, for which OpenBLAS tunes its AVX2 kernels as "Zen".
    public var isAMD: Bool { vendor == "AuthenticAMD" || vendor == "HygonGenuine" }

    /// Zen 4 (AMD family 25 with AVX-512): its AVX-512 instructions run as two 256-bit halves.
    public var splitsAVX512: Bool { isAMD && family == 25 && has("avx512f") }

    /// The first processor's entry of a /proc/cpuinfo text (every core lists the same flags).
    public static func parse(cpuinfo text: String) -> CPUFeatures? {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                if !fields.isEmpty { break }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        guard let flags = fields["flags"] else { return nil }
        return CPUFeatures(vendor: fields["vendor_id"] ?? "", family: fields["cpu family"].flatMap { Int($0) },
                           model: fields["model"].flatMap { Int($0) }, modelName: fields["model name"] ?? "",
                           flags: Set(flags.split(separator: " ").map(String.init)))
    }

    /// This machine's processor, or nil where it cannot be read (not Linux, or not x86).
    public static let current: CPUFeatures? = {
        guard let text = ProcFile.read("/proc/cpuinfo") else { return nil }
        return parse(cpuinfo: text)
    }()

    /// "AMD EPYC (AuthenticAMD family 25 model 17)".
    public var summary: String {
        let name = modelName.isEmpty ? vendor : modelName
        guard let family, let model else { return name }
        return "\(name) (\(vendor) family \(family) model \(model))"
    }
}
