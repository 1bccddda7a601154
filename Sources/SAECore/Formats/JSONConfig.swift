import Foundation

/// A JSON object read from a config file, with typed accessors whose errors name the file and key.
public struct JSONConfig {
    public let values: [String: Any]
    public let path: String

    public init(values: [String: Any], path: String) {
        self.values = values
        self.path = path
    }

    public static func read(path: String) throws -> JSONConfig {
        let data = try InputFile.contents(path)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw SaescopeError("config is not valid JSON", file: path)
        }
        guard let values = object as? [String: Any] else {
            throw SaescopeError("config is not a JSON object", file: path)
        }
        return JSONConfig(values: values, path: path)
    }

    public func has(_ key: String) -> Bool {
        guard let value = values[key] else { return false }
        return !(value is NSNull)
    }

    public func object(_ key: String) throws -> JSONConfig? {
        guard has(key) else { return nil }
        guard let nested = values[key] as? [String: Any] else { throw typeError(key, "an object") }
        return JSONConfig(values: nested, path: path)
    }

    public func string(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard let text = values[key] as? String else { throw typeError(key, "a string") }
        return text
    }

    public func int(_ key: String) throws -> Int? {
        guard has(key) else { return nil }
        guard let number = values[key] as? NSNumber, number.doubleValue == number.doubleValue.rounded(), abs(number.doubleValue) < 9.0e15 else {
            throw typeError(key, "an integer")
        }
        return number.intValue
    }

    public func double(_ key: String) throws -> Double? {
        guard has(key) else { return nil }
        guard let number = values[key] as? NSNumber else { throw typeError(key, "a number") }
        return number.doubleValue
    }

    public func bool(_ key: String) throws -> Bool? {
        guard has(key) else { return nil }
        if let flag = values[key] as? Bool { return flag }
        throw typeError(key, "true or false")
    }

    /// A width or a feature count: an integer of at least 1 (the error names the config and key).
    public func dimension(_ key: String) throws -> Int? {
        guard let value = try int(key) else { return nil }
        guard value >= 1 else { throw SaescopeError("config key '\(key)' is \(value); a dimension must be at least 1", file: path) }
        return value
    }

    public func requireDimension(_ key: String) throws -> Int {
        guard let value = try dimension(key) else { throw SaescopeError("config lacks '\(key)'", file: path) }
        return value
    }

    public func requireInt(_ key: String) throws -> Int {
        guard let value = try int(key) else { throw SaescopeError("config lacks '\(key)'", file: path) }
        return value
    }

    private func typeError(_ key: String, _ expected: String) -> SaescopeError {
        SaescopeError("config key '\(key)' should be \(expected)", file: path)
    }
}
