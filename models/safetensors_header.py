"""Reading a .safetensors header to check a weights file without loading its tensors.

Layout: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape,
data_offsets: [begin, end]}, "__metadata__": {...}}, then the data buffer.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from models.errors import PackError

_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip
_MAX_HEADER = 100 * 1024 * 1024


def read_safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape; raises PackError if the file is truncated or malformed."""
    where = path.name
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise PackError(f"{where}: truncated (only {len(head)} bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > _MAX_HEADER or 8 + n > size:
                raise PackError(f"{where}: truncated or corrupt header (claims {n} bytes)")
            header = json.loads(f.read(n))
    except FileNotFoundError:
        raise PackError(f"{where}: file is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackError(f"{where}: corrupt header ({exc})") from None
    if not isinstance(header, dict):
        raise PackError(f"{where}: corrupt header (not an object)")
    shapes: dict[str, tuple[int, ...]] = {}
    data_end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            expected = math.prod(shape) * _DTYPE_BYTES[dtype]
        except (KeyError, TypeError, ValueError):
            raise PackError(f"{where}: corrupt header entry for {name!r}") from None
        if end - begin != expected:
            raise PackError(f"{where}: {name}: {end - begin} bytes for shape {shape} {dtype}")
        shapes[name] = tuple(int(s) for s in shape)
        data_end = max(data_end, end)
    expected_size = 8 + n + data_end
    if size < expected_size:
        raise PackError(f"{where}: truncated: {size} bytes, the header promises {expected_size}")
    return shapes
