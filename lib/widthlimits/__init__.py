"""widthlimits: the shared library of the *Width Limits* book.

Modules, in the order data flows through them (no module imports one further down the list):
``profiles`` (experiment sizes), ``data`` (CIFAR2), ``scalings`` (q-exponents -> hyperparameters),
``models`` (bias-free MLPs), ``training`` (full-batch GD/RMSProp with per-step records),
``experiments`` (cached sweeps over widths, families and seeds), ``measure`` (fits and distances),
``claims`` (asserted numerical statements), ``plots``.
"""

__version__ = "0.1.0"
