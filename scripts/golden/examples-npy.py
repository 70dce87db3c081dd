"""Golden .npy files for examples/npy.ts: bytes written by numpy itself, with the values they hold.

Run: /usr/bin/python3 scripts/golden/examples-npy.py  ->  test/golden/examples-npy.json
"""
import base64
import io
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "golden", "examples-npy.json")
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
]
errors = {
    "fortran": base64.b64encode(saved(np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))).decode("ascii"),
    "structured": base64.b64encode(saved(np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))).decode("ascii"),
    "complex": base64.b64encode(saved(np.zeros(2, dtype="<c8"))).decode("ascii"),
    "float16": base64.b64encode(saved(np.zeros(2, dtype="<f2"))).decode("ascii"),
    "unicode": base64.b64encode(saved(np.array(["ab", "c"]))).decode("ascii"),
    "int64 too large": base64.b64encode(saved(np.array([1, 2**40], dtype="<i8"))).decode("ascii"),
}
with open(OUT, "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases, "errors": errors}, f, indent=1)
    f.write("\n")
