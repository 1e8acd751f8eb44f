"""widthlimits: the shared library of the *Width Limits* book.

Modules, in the order data flows through them (no module imports one further down the list; the order is
``ORDER`` in ``tests/test_layout.py``):

- inputs: ``_validate`` (argument checks), ``numerics`` (round-off, float64 reruns), ``divergence`` (when a
  run has blown up), ``profiles`` (experiment sizes), ``cifar10``/``data`` (CIFAR2 and toy data);
- scalings: ``scalings`` (q-exponents -> hyperparameters), ``abc_parametrizations`` (the dictionary to
  abc-parametrisations), ``limit_models`` (Golikov's three exponents, the stability band, the 13 limit models);
- models and kernels: ``models`` (bias-free MLPs, the IC-MF offset, the span reparametrisation W = W0 + C X),
  ``kernel_dynamics``/``kernels`` (infinite-width kernels and kernel GD), ``signal_propagation`` (the NNGP
  recursion as a map in depth: q*, chi_1, order and chaos), ``gradient_propagation`` (backpropagated gradient
  norms through depth against chi_1);
- training: ``losses``, ``optimizers``, ``runs`` (what a run is and records), ``engines`` (the step-level
  ``init``/``observe``/``update`` API and ``TrainConfig``), ``training`` (batched, compiled runs with a
  ``record=`` hook), ``kernel_motion`` (how far a one-hidden-layer net's tangent kernel and outputs move);
- sweeps: ``sweep_cache``/``results_files``/``experiments`` (cached sweeps over widths, families and seeds,
  selected by label with ``Sweep.sel``);
- limits: ``kernel_limit``/``particle_limit``/``limits`` (kernel GD, the MF particle recursion, divergences of
  logit laws), ``particle_map`` (the MF particles of a finite net and their GD map), ``logit_statistics`` (laws
  of logits across seeds), ``limit_comparison`` (finite nets against the limits), ``icmf_limit`` (the IC-MF
  limit model: a Gaussian-process start plus the MF recursion at corrected logits), ``catapult``/
  ``two_layer_linear`` (the catapult phase of GD on the square loss);
- measurements: ``measure`` (fits and distances), ``width_exponents`` (measured first-step exponents),
  ``width_trends`` (final values against width), ``cell_limits`` (distances between normalised trajectories of
  two scalings across widths: one cell, one limit?), ``limit_properties`` (P1-P3 as measured width exponents),
  ``layer_dynamics`` (per-layer records of deep nets), ``deep_mup`` (the deep μP control trained by GD);
- claims and output: ``claims`` (asserted numerical statements), ``ledger``/``ledger_sentences`` (the
  back-matter ledger: each abstract sentence against the claims that support it),
  ``reporting``/``framework_tables`` (Markdown tables, number formats), ``gap_reports`` (the gaps of wide nets
  to the reference in three norms, and their differences), ``plots`` and the chapters' figure
  modules (``mean_field_plots``, ``framework_plots``, ``limit_plots``, ``catapult_plots``, ``kernel_plots``,
  ``deep_net_plots``), ``widgets``.

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
    "IC-MF offset f_SP(theta_SP_0) - f(theta_0), fixed at initialisation": "models.init_offset",
    "span reparametrisation W = W_0 + C X of a GD-trained input layer": "models.span_preactivations",
    "2-Wasserstein distance between fitted normal logit laws": "limits.logit_divergences",
    "learning-rate-weighted kernel Theta/n and its top eigenvalue eta* lambda": "catapult.lr_kernel",
    "exact GD recursion of the two-layer linear (uv) model": "two_layer_linear.linear_model_map",
    "power-law exponent of a quantity versus width": "measure.fit_power_law",
    "seed-bootstrap standard error of that exponent": "measure.bootstrap_slope",
    "relative change of the tangent kernel, E_x |Theta_k(x,x) / Theta_0(x,x) - 1|": "measure.kernel_change",
    "pooled, noise-corrected Gaussian KL of two logit laws across seeds": "logit_statistics.pooled_kl",
    "delete-one-seed jackknife standard error": "logit_statistics.jackknife_se",
    "mean-field particle map T_k of one GD step": "particle_map.mf_step",
    "Golikov's exponents q_0 = q_s + 1/2, q_K = 1 + 2 q_s + q_tilde, q_h = q_s + q_tilde": "limit_models.exponents",
    "stability band -1/2 <= q_h <= 0 and the 13 limit models of one hidden layer": "limit_models.classify",
    "learned over initial logit, E|f(k) - f(0)| / rms f(0)": "width_exponents.learned_ratio",
    "dual activations E[phi(u)phi(v)], E[phi'(u)phi'(v)] (closed forms, Gauss-Hermite for tanh)": "kernels.dual",
    "length map q -> sigma_w^2 E phi(sqrt(q) z)^2 + sigma_b^2": "signal_propagation.length_map",
    "length fixed point q*": "signal_propagation.length_fixed_point",
    "chi_1 = sigma_w^2 E phi'(sqrt(q*) z)^2": "signal_propagation.chi1",
    "correlation map c -> (sigma_w^2 E_{q,c}[phi phi] + sigma_b^2) / q": "signal_propagation.correlation_map",
    "critical sigma_w^2 (chi_1(q*) = 1)": "signal_propagation.critical_sigma_w2",
    "split of the tangent-kernel diagonal's change (flips, output weights, output layer)": "kernel_motion.split_change",
    "depth scale xi_c = -1/log(slope of the correlation map at c*)": "signal_propagation.depth_scale",
}
