"""Tiny data and families shared by the sweep and cache tests (5 inputs, 8 training and 4 test points)."""

import numpy as np

from widthlimits import experiments as E
from widthlimits import models as M
from widthlimits import scalings as S
from widthlimits.data import Dataset

MLP = M.MLP(n_in=5)

FAMILIES = {
    "MF": S.preset("mf"),
    "NTK": S.preset("ntk"),
    "RMS": S.preset("mf", optimizer="rmsprop"),
    "IC-MF": E.Family(S.preset("mf"), init_corrected=True),
}


def toy_data() -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(
        rng.normal(size=(8, 5)).astype(np.float32),
        np.tile([0.0, 1.0], 4).astype(np.float32),
        rng.normal(size=(4, 5)).astype(np.float32),
        np.tile([0.0, 1.0], 2).astype(np.float32),
    )
