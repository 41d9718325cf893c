"""Compact JSON: the long arrays behind figures leave the JSON for ``arrays.npz``."""
from __future__ import annotations

import io
import json

import numpy as np

from harness.checker import check_sampler
from harness.output.bulk import BULK_LIMIT, npz_bytes, split_bulk
from harness.output.documents import single_files


def test_split_bulk_moves_long_numeric_lists_and_keeps_the_rest():
    obj = {"a": list(range(BULK_LIMIT + 1)), "b": [1, 2, 3], "c": {"d": [[0.5] * 70] * 2, "e": "text"},
           "f": ["x"] * 100}
    compact, arrays = split_bulk(obj)
    assert compact["a"] == {"$array": "a", "shape": [BULK_LIMIT + 1], "dtype": "int64"}
    assert compact["b"] == [1, 2, 3] and compact["c"]["e"] == "text" and compact["f"] == ["x"] * 100
    assert compact["c"]["d"]["$array"] == "c.d" and arrays["c.d"].shape == (2, 70)
    back = np.load(io.BytesIO(npz_bytes(arrays)))
    assert np.array_equal(back["a"], np.arange(BULK_LIMIT + 1)) and set(back.files) == {"a", "c.d"}


def test_token_check_json_is_small_and_the_arrays_are_in_the_npz():
    res = check_sampler("reference-token", budget="quick", seed=0, only=["TK.law.v4096"], isolation="none")
    full = res.to_json(full=True)
    compact = res.to_json()
    assert len(compact) < 200_000 < len(full) or len(compact) < len(full) / 5, (len(compact), len(full))
    d = json.loads(compact)
    assert d["headline"] == res.headline and len(d["verdicts"]) == len(res.verdicts)
    files = single_files(res)
    (npz,) = [k for k in files if k.endswith(".arrays.npz")]
    arrays = np.load(io.BytesIO(files[npz]))
    refs = [v for v in json.dumps(d).split('"$array": "')[1:]]
    assert refs and all(r.split('"')[0] in arrays.files for r in refs)
