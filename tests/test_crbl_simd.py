"""The cerebellar transfer functions compile to SIMD code, whatever the compile order."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cmftvb.models import crbl
from cmftvb.models.presets import load_preset

# A cache=True loop over crbl.dfun, compiled first in a fresh process with an empty cache:
# the order in which crbl.BASE[pop] once stayed an opaque call (numba's getitem_literal_idx)
# when LLVM's loop vectoriser ran, which kept the loop scalar.
CHILD = textwrap.dedent(
    """
    import re, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import crbl_loop
    from cmftvb.models import crbl
    from cmftvb.models.presets import load_preset
    p = crbl.pack(load_preset("corrected"))
    x = [np.full(40, 0.01) for _ in range(6)]
    crbl_loop.loop(*x, p, np.empty((4, 40)))
    asm = crbl_loop.loop.inspect_asm(crbl_loop.loop.signatures[0])
    print(len(re.findall(r"\\bv?divpd\\b", asm)), len(re.findall(r"\\bv?divsd\\b", asm)))
    print("getitem_literal" in asm, "erfc" in asm)
    """
)
LOOP = textwrap.dedent(
    """
    from numba import njit
    from cmftvb.models import crbl

    @njit(cache=True, error_model="numpy")
    def loop(grc, goc, mli, pc, mf, pf, p, out):
        for k in range(grc.size):
            a, b, c, d = crbl.dfun(grc[k], goc[k], mli[k], pc[k], mf[k], pf[k], p)
            out[0, k] = a
            out[1, k] = b
            out[2, k] = c
            out[3, k] = d
    """
)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 assembly")
def test_a_cached_loop_over_dfun_compiles_to_packed_code(tmp_path):
    (tmp_path / "crbl_loop.py").write_text(LOOP)
    src = Path(crbl.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(src), "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    counts, calls = out.stdout.splitlines()[-2:]
    packed, _scalar = (int(v) for v in counts.split())
    # the vector body divides in packed form (4 transfer functions, several divisions each)
    assert packed >= 16, out.stdout
    assert calls == "False False"


def test_a_node_alone_equals_it_in_a_long_loop():
    """Bitwise: the scalar code (one node) and the vector body (many nodes) agree."""
    rng = np.random.default_rng(7)
    p = crbl.pack(load_preset("corrected"))
    n = 997
    x = [rng.uniform(0.0, 0.08, n) for _ in range(6)]
    x[0][::5] = 0.0  # silent inputs and the explicit limits go through the selects too
    x[4][::7] = 0.0
    many = crbl.dfun_nodes(*x, p)
    for k in range(0, n, 41):
        one = crbl.dfun_nodes(*(v[k : k + 1] for v in x), p)
        np.testing.assert_array_equal(one[:, 0], many[:, k])
