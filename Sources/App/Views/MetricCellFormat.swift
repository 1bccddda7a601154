import Widgets

extension NumberFormat {
    /// A metric in a table cell: "n/a" where it is not a number (a transcoder's index has no
    /// reconstruction reference; a transcoder's encoder and decoder have no common width), as
    /// `saescope eval` prints it, instead of "nan".
    static func metric(_ value: Double) -> String {
        value.isNaN ? "n/a" : compact(value)
    }
}
