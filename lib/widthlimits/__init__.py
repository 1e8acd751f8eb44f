"""widthlimits: the shared library of the *Width Limits* book.

Modules, in the order data flows through them (no module imports one further down the list; the order is
``ORDER`` in ``tests/test_layout.py``): ``_validate`` (argument checks), ``numerics`` (round-off, float64
reruns), ``divergence`` (when a run has blown up), ``profiles`` (experiment sizes), ``cifar10``/``data``
(CIFAR2), ``scalings``/``abc_parametrizations`` (q-exponents -> hyperparameters), ``models`` (bias-free MLPs),
``kernel_dynamics``/``kernels`` (infinite-width kernels and kernel GD), ``signal_propagation`` (the NNGP
recursion as a map in depth: q*, chi_1, order and chaos), ``losses``, ``optimizers``, ``runs``
(what a run is and records), ``engines`` (the step-level ``init``/``observe``/``update`` API and
``TrainConfig``), ``training`` (batched, compiled runs with a ``record=`` hook), ``kernel_motion`` (how far a
one-hidden-layer net's tangent kernel and outputs move, replayed on the Gram engine), ``sweep_cache``/
``results_files``/``experiments`` (cached sweeps over widths, families and seeds, selected by label with
``Sweep.sel``), ``limits`` (limit models), ``measure`` (fits and distances), ``claims`` (asserted numerical
statements), ``reporting`` (Markdown tables, number formats), ``plots``, ``kernel_plots`` (figures of the
kernel chapters), ``widgets``.

:data:`FORMULA_HOMES` names the one place where each formula that recurs across chapters is defined; a test
checks that every home exists.
"""

__version__ = "0.1.0"

#: Formula -> the ``module.name`` that defines it (chapters and other modules call it, never re-derive it).
FORMULA_HOMES = {
    "sigma* = 1/sqrt(3 d*), the output-weight std at the reference width": "scalings.sigma_star",
    "width-d hyperparameters of a scaling (init factor, sigma, per-layer rates)": "scalings.hyperparams",
    "logistic loss (PyTorch's BCEWithLogitsLoss)": "losses.logistic_loss",
    "square loss onto targets +-1": "losses.square_loss",
    "accuracy sign(f) = 2y - 1": "losses.accuracy",
    "GD and RMSProp with PyTorch's defaults, one rate per layer": "optimizers.optimizer",
    "divergence criterion (NaN, inf, or 1e8 x the initial logit scale)": "divergence.diverged",
    "Gaussian KL divergence of logit distributions": "limits.gaussian_kl",
    "power-law exponent of a quantity versus width": "measure.fit_power_law",
    "seed-bootstrap standard error of that exponent": "measure.bootstrap_slope",
    "dual activations E[phi(u)phi(v)], E[phi'(u)phi'(v)] (closed forms, Gauss-Hermite for tanh)": "kernels.dual",
    "length map q -> sigma_w^2 E phi(sqrt(q) z)^2 + sigma_b^2": "signal_propagation.length_map",
    "length fixed point q*": "signal_propagation.length_fixed_point",
    "chi_1 = sigma_w^2 E phi'(sqrt(q*) z)^2": "signal_propagation.chi1",
    "correlation map c -> (sigma_w^2 E_{q,c}[phi phi] + sigma_b^2) / q": "signal_propagation.correlation_map",
    "critical sigma_w^2 (chi_1(q*) = 1)": "signal_propagation.critical_sigma_w2",
    "split of the tangent-kernel diagonal's change (flips, output weights, output layer)": "kernel_motion.split_change",
    "depth scale xi_c = -1/log(slope of the correlation map at c*)": "signal_propagation.depth_scale",
}
