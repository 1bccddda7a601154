import Foundation

/// The short name a dictionary is shown and filed by: its path's last component, except for a
/// weights file that every dictionary of a library names alike (dictionary_learning's `ae.pt`,
/// Gemma Scope's `params.npz`), which is known by its folder, as when the folder is given.
public enum DictionaryName {
    public static let sharedFileNames: Set<String> = ["ae.pt", "params.npz"]

    public static func of(_ path: String, sharedFileNames: Set<String> = sharedFileNames) -> String {
        let standardized = (path as NSString).standardizingPath as NSString
        guard sharedFileNames.contains(standardized.lastPathComponent) else { return standardized.lastPathComponent }
        return (standardized.deletingLastPathComponent as NSString).lastPathComponent
    }
}
