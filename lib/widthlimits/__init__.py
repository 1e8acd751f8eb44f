"""widthlimits: the shared library of the *Width Limits* book.

Modules, in the order data flows through them (no module imports one further down the list; the order is
``ORDER`` in ``tests/test_layout.py``): ``_validate`` (argument checks), ``numerics`` (round-off, float64
reruns), ``divergence`` (when a run has blown up), ``profiles`` (experiment sizes), ``cifar10``/``data``
(CIFAR2), ``scalings``/``abc_parametrizations`` (q-exponents -> hyperparameters), ``models`` (bias-free MLPs),
``kernel_dynamics``/``kernels`` (infinite-width kernels and kernel GD), ``training`` (full-batch GD/RMSProp
with per-step records), ``sweep_cache``/``results_files``/``experiments`` (cached sweeps over widths,
families and seeds), ``limits`` (limit models), ``measure`` (fits and distances), ``claims`` (asserted
numerical statements), ``plots``, ``widgets``.
"""

__version__ = "0.1.0"
