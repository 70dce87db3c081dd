"""Golden .npy files for src/data/npy.ts: bytes written by numpy itself, with the values they hold.

Run: /usr/bin/python3 scripts/golden/npy.py  ->  test/golden/npy.json
"""
import base64
import io
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "golden", "npy.json")
rng = np.random.default_rng(0)


def saved(a, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def case(name, a, version=None):
    return {
        "name": name,
        "bytes": base64.b64encode(saved(a, version)).decode("ascii"),
        "descr": np.lib.format.dtype_to_descr(a.dtype),
        "dtype": a.dtype.name,
        "shape": list(a.shape),
        # float32 values go through float64 exactly; ints and bools as Python ints
        "values": [float(v) if a.dtype.kind == "f" else int(v) for v in a.ravel(order="C")],
    }


cases = [
    case("float32 [3, 4]", rng.standard_normal((3, 4)).astype("<f4")),
    case("float64 [5]", rng.standard_normal(5)),
    case("int64 labels [6]", np.array([0, 3, 1, 9, 2, 2], dtype="<i8")),
    case("int32 [2, 2]", np.array([[-5, 7], [2147483647, -2147483648]], dtype="<i4")),
    case("uint8 [2, 3]", np.array([[0, 1, 255], [128, 7, 9]], dtype="u1")),
    case("int16 big-endian [3]", np.array([-300, 0, 300], dtype=">i2")),
    case("float32 big-endian [2, 2]", rng.standard_normal((2, 2)).astype(">f4")),
    case("bool [4]", np.array([True, False, False, True])),
    case("scalar float64 []", np.array(2.5)),
    case("empty float32 [0, 3]", np.zeros((0, 3), dtype="<f4")),
    case("format 2.0 float32 [2, 3]", rng.standard_normal((2, 3)).astype("<f4"), version=(2, 0)),
    # Cases added when the reader moved into src/data (drawn after the ones above, so those keep their bytes).
    case("format 3.0 float64 [3]", rng.standard_normal(3), version=(3, 0)),
    case("float64 big-endian [2, 3]", rng.standard_normal((2, 3)).astype(">f8")),
    case("float32 [2, 3, 4]", rng.standard_normal((2, 3, 4)).astype("<f4")),
    case("uint8 images [2, 2, 3]", rng.integers(0, 256, (2, 2, 3)).astype("u1")),
    case("int8 [4]", np.array([-128, -1, 0, 127], dtype="i1")),
    case("uint16 big-endian [3]", np.array([0, 1, 65535], dtype=">u2")),
    case("uint32 [3]", np.array([0, 7, 2147483647], dtype="<u4")),
    case("int64 negative and extremes [4]", np.array([-1, -2147483648, 2147483647, 5], dtype="<i8")),
    case("int64 big-endian [3]", np.array([-2, 0, 300000], dtype=">i8")),
    case("uint64 [2]", np.array([3, 2147483647], dtype="<u8")),
]
errors = {
    "fortran": base64.b64encode(saved(np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))).decode("ascii"),
    "structured": base64.b64encode(saved(np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))).decode("ascii"),
    "complex": base64.b64encode(saved(np.zeros(2, dtype="<c8"))).decode("ascii"),
    "float16": base64.b64encode(saved(np.zeros(2, dtype="<f2"))).decode("ascii"),
    "unicode": base64.b64encode(saved(np.array(["ab", "c"]))).decode("ascii"),
    "int64 too large": base64.b64encode(saved(np.array([1, 2**40], dtype="<i8"))).decode("ascii"),
    "int64 too small": base64.b64encode(saved(np.array([0, -2147483649], dtype="<i8"))).decode("ascii"),
    "uint32 too large": base64.b64encode(saved(np.array([2147483648], dtype="<u4"))).decode("ascii"),
    "object": base64.b64encode(saved(np.array([1, "a"], dtype=object))).decode("ascii"),
}
with open(OUT, "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases, "errors": errors}, f, indent=1)
    f.write("\n")
