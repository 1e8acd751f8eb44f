"""widthlimits: the shared library of the *Width Limits* book.

Modules, in the order data flows through them (no module imports one further down the list; the order is
``ORDER`` in ``tests/test_layout.py``): ``_validate`` (argument checks), ``numerics`` (round-off, float64
reruns), ``divergence`` (when a run has blown up), ``profiles`` (experiment sizes), ``cifar10``/``data``
(CIFAR2), ``scalings``/``abc_parametrizations`` (q-exponents -> hyperparameters), ``models`` (bias-free MLPs),
``kernel_dynamics``/``kernels`` (infinite-width kernels and kernel GD), ``losses``, ``optimizers``, ``runs``
(what a run is and records), ``engines`` (the step-level ``init``/``observe``/``update`` API and
``TrainConfig``), ``training`` (batched, compiled runs with a ``record=`` hook), ``sweep_cache``/
``results_files``/``experiments`` (cached sweeps over widths, families and seeds, selected by label with
``Sweep.sel``), ``limits`` (limit models), ``measure`` (fits and distances), ``layer_dynamics`` (per-layer records
of deep nets), ``claims`` (asserted numerical statements), ``reporting`` (Markdown tables, number formats),
``plots``, ``deep_net_plots`` (per-layer figures of deep nets), ``widgets``.

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
    "RMSProp's first-step eps factor |g| / (|g| + eps/sqrt(1-alpha))": "optimizers.rmsprop_eps_factor",
    "hat units of a layer's move (row norm of W; |dV|/sigma, |da|/sigma)": "layer_dynamics.hat_size",
    "exact mean squares of deep leaky-ReLU pre-activations at initialisation": "layer_dynamics.exact_mean_squares",
    "divergence criterion (NaN, inf, or 1e8 x the initial logit scale)": "divergence.diverged",
    "Gaussian KL divergence of logit distributions": "limits.gaussian_kl",
    "power-law exponent of a quantity versus width": "measure.fit_power_law",
    "seed-bootstrap standard error of that exponent": "measure.bootstrap_slope",
}
