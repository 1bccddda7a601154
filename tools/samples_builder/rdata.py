"""Just enough of R's XDR serialization format to read an R package's lazy-load data
(the Jane Austen novels of r-cran-janeaustenr)."""

import struct


class RVector(list):
    """An R vector; `attributes` is its attribute pairlist (or None)."""

    attributes = None


class RUnserializer:
    """Just enough of R's XDR serialization format (versions 2 and 3) to read the package's data:
    character, integer, logical and double vectors, lists, attribute pairlists, symbols and
    references to them."""

    def __init__(self, data):
        if data[:2] != b"X\n":
            raise ValueError("not an XDR R serialization")
        self.data, self.pos, self.refs = data, 2, []
        version = self.int()
        self.int()  # R version that wrote it
        self.int()  # oldest R version that reads it
        if version == 3:
            length = self.int()  # then the native encoding's name
            self.pos += length

    def int(self):
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def array(self, n, fmt, size):
        values = list(struct.unpack_from(f">{n}{fmt}", self.data, self.pos))
        self.pos += n * size
        return values

    def read(self):
        flags = self.int()
        kind = flags & 0xFF
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind == 254:  # NILVALUE_SXP
            return None
        if kind == 255:  # REFSXP: index packed in the flags, or in the next int
            index = flags >> 8 or self.int()
            return self.refs[index - 1]
        if kind == 1:  # SYMSXP
            symbol = ("symbol", self.read())
            self.refs.append(symbol)
            return symbol
        if kind == 9:  # CHARSXP; level bit 2 (flags bit 14) marks latin-1, else UTF-8 or ASCII
            length = self.int()
            if length == -1:
                return None
            text = self.data[self.pos:self.pos + length]
            self.pos += length
            return text.decode("latin-1" if flags & (1 << 14) else "utf-8")
        if kind == 2:  # LISTSXP (pairlist): attributes, tag, car, cdr
            attr = self.read() if has_attr else None
            tag = self.read() if has_tag else None
            return ("pairlist", tag, self.read(), self.read(), attr)
        if kind in (10, 13, 14, 16, 19):
            n = self.int()
            if kind in (16, 19):  # STRSXP, VECSXP
                value = RVector(self.read() for _ in range(n))
            elif kind == 14:  # REALSXP
                value = RVector(self.array(n, "d", 8))
            else:  # LGLSXP, INTSXP
                value = RVector(self.array(n, "i", 4))
            if has_attr:
                value.attributes = self.read()
            return value
        raise ValueError(f"unsupported R object type {kind}")


def r_names(vector):
    pairlist = vector.attributes
    while pairlist is not None:
        _, tag, value, rest, _ = pairlist
        if tag == ("symbol", "names"):
            return list(value)
        pairlist = rest
    raise ValueError("R vector without names")

