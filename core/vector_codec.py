"""A unit vector as a short string for a payload: 8 bits a dimension, base64 (512 characters for 384).

For a vector that is read beside a record rather than searched on (a document's title vector): a payload
field needs no second vector in the collection's schema, so a store made before it keeps working. Eight bits
cost about 0.005 of a cosine, far below the differences a ranking acts on.

>>> import numpy as np
>>> v = np.array([0.6, -0.8, 0.0], np.float32)
>>> packed = pack(v)
>>> packed, [round(float(x), 2) for x in unpack(packed)]
('TJoA', [0.6, -0.8, 0.0])
"""

from __future__ import annotations

import base64

import numpy as np

_SCALE = 127.0


def pack(vector: np.ndarray) -> str:
    """A unit vector (components in [-1, 1]) as base64 of signed bytes."""
    q = np.clip(np.rint(np.asarray(vector, np.float32) * _SCALE), -127, 127).astype(np.int8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def unpack(text: str) -> np.ndarray:
    """The vector back, renormalised (what rounding took is spread evenly)."""
    v = np.frombuffer(base64.b64decode(text), dtype=np.int8).astype(np.float32) / _SCALE
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v
