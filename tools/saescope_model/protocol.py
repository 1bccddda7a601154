"""The model server's wire format (version 2: version 2 added the `unembedding` request), shared
by both ends: saescope (Swift) writes requests to the child's stdin and reads replies from its
stdout.

A message is one header line followed by zero or more tensor frames:

    {"op": "loss", "id": 7, ..., "frames": [{"name": "patch", "dtype": "u8", "shape": [2, 16]}]}\\n
    <u64 little-endian byte count><raw little-endian bytes of frame 0>
    <u64 little-endian byte count><raw little-endian bytes of frame 1> ...

- The header is a single line of UTF-8 JSON (no raw newline inside: JSON escapes them). It names
  the operation (requests) or says `"ok": true/false` (replies, with `"error"` a one-line message),
  carries the small values, and lists the frames that follow in order with dtype and shape.
- A frame is its byte count as an unsigned 64-bit little-endian integer, then exactly that many
  bytes: the tensor in row-major order, little-endian. The count must equal the product of the
  shape times the dtype's size; a reader checks it, so a framing slip is an error, not garbage.
- dtypes: f32 (float32), i64 (int64), u8 (uint8).

Why this framing (rather than all-JSON, msgpack, npy files or a socket):
- Tensors dominate the traffic (one batch of 1024 tokens at D=576 is 2.4 MB per direction). Raw
  frames cost nothing to encode (numpy's tobytes / frombuffer, Swift's withUnsafeBytes); JSON
  numbers would be ~4x larger and slow to print and parse, base64 a third larger plus a pass.
- The small part stays readable JSON: a transcript is debuggable by eye, and both ends already
  have a JSON library (Python's json, Foundation's JSONSerialization); no extra dependency.
- Explicit byte counts plus shapes let either side validate a frame before trusting it.
- stdin/stdout need no port, path or cleanup, and tie the child's life to saescope's: when
  saescope goes away the child's stdin reaches end of file and it exits.
The server never lets anything else reach its real stdout (see server.py), so a library that
prints cannot corrupt the stream.
"""

from __future__ import annotations

import json
import struct

PROTOCOL_VERSION = 2

# wire dtype -> numpy dtype string (little-endian)
DTYPES = {"f32": "<f4", "i64": "<i8", "u8": "u1"}
_WIRE = {"float32": "f32", "int64": "i64", "uint8": "u8"}

MAX_FRAME_BYTES = 1 << 34  # 16 GiB: larger counts mean a corrupt stream


class ProtocolError(Exception):
    """The peer sent something that is not a valid message."""


def _read_exact(stream, count: int) -> bytes:
    chunks = []
    remaining = count
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            raise ProtocolError(f"stream ended inside a frame ({count - remaining} of {count} bytes)")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(stream):
    """(header dict, {frame name: numpy array}); None at end of stream."""
    import numpy as np

    line = stream.readline()
    if not line:
        return None
    try:
        header = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"header is not JSON ({exc})")
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    frames = {}
    for spec in header.get("frames", []):
        try:
            name, dtype, shape = spec["name"], DTYPES[spec["dtype"]], [int(n) for n in spec["shape"]]
        except (KeyError, TypeError, ValueError):
            raise ProtocolError(f"bad frame description {spec!r}")
        (count,) = struct.unpack("<Q", _read_exact(stream, 8))
        expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if count != expected or count > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame {name}: {count} bytes for shape {shape} {spec['dtype']} (expected {expected})")
        frames[name] = np.frombuffer(_read_exact(stream, count), dtype=dtype).reshape(shape)
    return header, frames


def write_message(stream, header: dict, frames=()) -> None:
    """Writes a header and frames [(name, numpy array)] and flushes."""
    import numpy as np

    arrays = []
    specs = []
    for name, array in frames:
        array = np.asarray(array)
        wire = _WIRE.get(array.dtype.name)
        if wire is None:
            raise ValueError(f"frame {name}: unsupported dtype {array.dtype}")
        arrays.append(np.ascontiguousarray(array, dtype=DTYPES[wire]))
        specs.append({"name": name, "dtype": wire, "shape": list(array.shape)})
    header = dict(header, frames=specs)
    parts = [json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"]
    for array in arrays:
        data = array.tobytes()
        parts.append(struct.pack("<Q", len(data)))
        parts.append(data)
    stream.write(b"".join(parts))
    stream.flush()
