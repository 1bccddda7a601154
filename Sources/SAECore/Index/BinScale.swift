/// `binIndex(of:exponent:bins:)` for many values of one feature's range, without a division per
/// value. The range is 2^exponent, so dividing by it is multiplying by 2^-exponent: both are the
/// exact real quotient rounded once, hence bit-identical, whenever 2^-exponent is a float
/// (exponent >= -127; a subnormal 2^-exponent is still exact) and 2^exponent is finite
/// (exponent <= 127). A range of 2^128 and above is +infinity, and value / inf is 0 (values are
/// finite): a reciprocal of 0 gives the same. Only ranges below 2^-127 (all-subnormal features)
/// keep the division.
struct BinScale {
    private let reciprocal: Float
    /// 2^exponent (the range's upper bound, +inf from 2^128).
    let upper: Float
    private let divides: Bool

    init(exponent: Int32) {
        upper = rangeUpperBound(exponent: exponent)
        if exponent >= 128 {
            reciprocal = 0
            divides = false
        } else if exponent >= -127 {
            reciprocal = Float(sign: .plus, exponent: -Int(exponent), significand: 1)
            divides = false
        } else {
            reciprocal = 0
            divides = true
        }
    }

    /// Bin of finite `value` among `bins` equal bins of [0, 2^exponent), as `binIndex` gives it.
    @inline(__always)
    func index(of value: Float, bins: Int) -> Int {
        let unit = divides ? value / upper : value * reciprocal
        let scaled = unit * Float(bins)
        return min(bins - 1, max(0, Int(scaled)))
    }
}
