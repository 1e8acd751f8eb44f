"""The sentences of the three sources, summarised in the book's words, and the claims that check each one.

Data for :mod:`widthlimits.ledger`. ``number`` is the sentence's position in its source (the Figure 1 caption
of the general-theory paper is number 9, after the abstract's eight). Patterns are ``"chapter:fnmatch
pattern"`` on claim names; a pattern that matches nothing in a current record withholds support, so renaming a
claim shows up in the ledger (and fails the book build, which runs the ledger strictly).
"""

from __future__ import annotations

from widthlimits.ledger import Sentence

NTK, MF, NNGP = "neural_tangent_kernel", "mean_field_limit", "nngp_signal_propagation"
ONE, FRAME, STABLE = "one_network_many_limits", "scaling_framework", "dynamically_stable_limits"
DTMF, FIG1, DEEP, FIG2 = "discrete_time_mean_field", "reproducing_figure_1", "deep_nets_rmsprop", "reproducing_figure_2"
CATAPULT = "catapult_dynamics"

_STABLE = (
    Sentence("stable", 1, "Two infinite-width theories of training have been studied: mean field and a constant "
             "neural tangent kernel.",
             (f"{NTK}:slope of |Theta_d - Theta| / |Theta|*", f"{MF}:MF: exponent of the relative move of layer w"),
             derived=True),
    Sentence("stable", 2, "The two scale the hyperparameters differently with the width, and so reach different "
             "limit models.",
             (f"{ONE}:*: exponent of the RMS logit at init", f"{ONE}:*: exponent of the first-step hat move of layer *",
              f"{FIG1}:file, d = *: |MF - NTK test loss| above 3 s.e. of the paired mean"), derived=True),
    Sentence("stable", 3, "A framework describes how the limit depends on the way hyperparameters scale with the "
             "width.", (f"{FRAME}:point * (*): largest |measured − derived| / tolerance",), derived=True),
    Sentence("stable", 4, "It recovers the MF and NTK scalings and uncountably many other scalings with a "
             "dynamically stable limit.",
             (f"{FRAME}:point * (*): largest |measured − derived| / tolerance",
              f"{FRAME}:every grid run at width >= 128 that diverged is at a point the derivation calls divergent"),
             derived=True),
    Sentence("stable", 5, "Yet these scalings induce only finitely many distinct limit models.",
             (f"{FRAME}:the 13 cells have distinct signatures*",
              f"{FRAME}:cell *, point *: width exponent of the distance to the simulated limit, in the derived range",
              f"{FRAME}:cell *, point *: at d = *, closer to its own limit than to cell *'s"), derived=True,
             note="the list of cells is a reconstruction (see the scaling-framework chapter); one limit per cell "
                  "is shown for cells 4, 9 and 12 only, the other ten are counted"),
    Sentence("stable", 6, "Each limit model is labelled by a distinct combination of properties: bounded logits and "
             "kernels at initialisation, a stationary kernel.",
             (f"{STABLE}:MF: measured properties P1–P3 equal the derived ones*",
              f"{STABLE}:NTK: measured properties P1–P3 equal the derived ones*"), derived=True,
             note="P1–P3 are a reconstruction of the abstract's properties"),
    Sentence("stable", 7, "The MF and NTK limits and one new limit model have most of the properties finite nets "
             "show.", (f"{STABLE}:sym-default: measured P1, P2 equal the derived ones*",
                       f"{STABLE}:no stable symmetric scaling has all three properties*"), derived=True),
    Sentence("stable", 8, "An initialisation-corrected MF limit has all of them, and its finite-width model is a "
             "small change of the usual net.",
             (f"{STABLE}:IC-MF: measured properties P1–P3 equal the derived ones*",
              f"{STABLE}:IC-MF logits at step 0 equal the SP logits*",
              f"{STABLE}:pooled KL, mean over training: IC-MF below MF*"), derived=True),
)

_THEORY = (
    Sentence("theory", 1, "Guarantees for training neural networks are hard to obtain in general.",
             note="motivation about the literature, not a result: nothing to compute"),
    Sentence("theory", 2, "So training has been studied at infinite width, with two theories: mean field and a "
             "constant kernel.",
             (f"{NTK}:slope of |Theta_d - Theta| / |Theta|*", f"{MF}:MF: exponent of the relative move of layer w"),
             derived=True),
    Sentence("theory", 3, "One framework links the two.",
             (f"{FRAME}:point 1 (*", f"{FRAME}:point 2 (*", f"{FRAME}:MF maps to Yang–Hu's MFP",
              f"{FRAME}:NTK maps to Yang–Hu's NTP"), derived=True,
             note="MF and NTK are the two ends of one segment of stable scalings"),
    Sentence("theory", 4, "The framework yields a discrete-time MF limit, new at the time.",
             (f"{DTMF}:exponent of the distance to the MF limit, pooled over steps 1..T",
              f"{DTMF}:float64: max |logit difference|, width-128 net vs 128-particle recursion, every step"),
             derived=True),
    Sentence("theory", 5, "That limit has a convergence theorem and approximates finite nets better than NTK "
             "unless learning rates are very small.",
             (f"{DTMF}:exponent of the distance to the MF limit, pooled over steps 1..T",
              f"{DTMF}:after training, eta* = 0.02: MF limit closer in W2 than NTK",
              f"{DTMF}:after training, smallest eta* = *: NTK limit closer in W2 than MF",
              f"{FIG1}:d = 512, eta* = 0.002: * gap, NTK's not larger than MF's*"), derived=True,
             note="the theorem is not proved here; its rate is measured"),
    Sentence("theory", 6, "The framework also gives a limit model that is neither MF nor NTK.",
             (f"{FIG1}:file, d = *: |MF - intermediate test loss| above 3 s.e. of the paired mean",
              f"{DTMF}:after training, eta* = 0.02: the intermediate limit is not the closest in W2"), derived=True),
    Sentence("theory", 7, "With more than two hidden layers, RMSProp training has a non-trivial discrete-time MF "
             "limit and GD training does not.",
             (f"{DEEP}:L = 3, GD: largest exponent of u^2..u^L or the logit change, steps 3..6*",
              f"{DEEP}:L = 3, RMSProp: smallest exponent of a learned part or the logit change, steps 3..6*",
              f"{FIG2}:stored gd_3: exponent of log 2 − MF train loss, widest 3 widths*",
              f"{FIG2}:stored rmsprop_3: the same exponent*"), derived=True),
    Sentence("theory", 8, "Both the MF and the NTK limit fall well short of describing finite nets, so better "
             "approximations are needed.",
             (f"{DTMF}:after training, smallest eta* = *: NTK limit closer in W2 than MF",
              f"{DTMF}:after training, eta* = 0.1: MF limit closer in W2 than NTK",
              f"{FIG1}:file, MF: step-0 gap to the reference is the zero start's |log 2 - L_ref(0)|"),
             note="measured as: each limit loses to the other somewhere; 'better approximations are needed' is the "
             "paper's conclusion, not a measurement"),
    Sentence("theory", 9, "Figure 1: for one hidden layer, the MF, NTK and intermediate scalings all lead to "
             "non-trivial limits.",
             (f"{FIG1}:file, * d = *: final test accuracy above 0.65",
              f"{FIG1}:file, *: change of the seed-mean final test loss, d = * to *"), derived=True),
)

_OVERVIEW = (
    Sentence("overview", 1, "Artificial neural networks are machine-learning models modelled on biological "
             "neurons.", note="background definition: nothing to compute"),
    Sentence("overview", 2, "They are the main ingredient of deep learning.", note="background: nothing to compute"),
    Sentence("overview", 3, "Their computation is arranged in successive layers.", note="definition"),
    Sentence("overview", 4, "A layer's width is its number of neurons.", note="definition"),
    Sentence("overview", 5, "Theory sometimes takes the width to infinity.", note="describes the field"),
    Sentence("overview", 6, "That limit gives simple analytic statements about predictions and training.",
             (f"{NNGP}:largest |z-score| of closed forms vs Monte Carlo*",
              f"{NTK}:slope of |network − kernel GD on Θ_ref|"), derived=True,
             note="generalisation and loss surfaces, also named in the source, are not examined here"),
    Sentence("overview", 7, "Wide limits matter in practice because finite nets often get better with width.",
             note="not examined: the book studies how nets approach their limits, not whether width helps"),
    Sentence("overview", 8, "The NNGP is the infinite-width limit of Bayesian nets and of randomly initialised "
             "nets' functions.",
             (f"{NNGP}:largest |z-score| of closed forms vs Monte Carlo*",
              f"{NNGP}:slope of the excess kurtosis of f(x) in width", f"{NNGP}:slope of E|K_hat - K|_F*"),
             derived=True, note="the Bayesian reading (posterior) is stated, the prior is measured"),
    Sentence("overview", 9, "The same computations describe how signals propagate through a deep net.",
             (f"{NNGP}:largest |z| of simulated (width 2000) vs recursion c^30*",
              f"{NNGP}:ordered point: depth scale fitted on the recursion vs formula"), derived=True),
    Sentence("overview", 10, "That description predicts how trainability depends on architecture and "
             "initialisation.",
             (f"{NNGP}:fraction of grid points where {{c* = 1}} coincides with {{chi_1 < 1}}*",), derived=True),
    Sentence("overview", 11, "The NTK describes how a net's predictions evolve under gradient descent.",
             (f"{NTK}:slope of |network − kernel GD on Θ_ref|",), derived=True),
    Sentence("overview", 12, "At infinite width the NTK is usually constant, which gives closed forms for training.",
             (f"{NTK}:slope of |Theta_d - Theta| / |Theta|*", f"{NTK}:tanh, slope of kernel motion*",
              f"{NTK}:closed form vs iterated kernel GD*"), derived=True),
    Sentence("overview", 13, "Training then becomes linear in the parameters.",
             (f"{NTK}:leaky ReLU, slope of network vs its linearisation",), derived=True),
    Sentence("overview", 14, "With 1/width output scaling and large learning rates, mean-field analysis predicts "
             "non-linear training unlike the fixed kernel.",
             (f"{MF}:MF: exponent of the relative move of layer w",
              f"{MF}:sup-gap of MF d = 4096 to the reference loss curve < NTK's"), derived=True),
    Sentence("overview", 15, "Catapult dynamics describe early training where the logits would blow up with the "
             "width (learning rates beyond the kernel regime's).",
             (f"{CATAPULT}:d = 65536: every run with 2 < eta* lambda_0 < 4 first rises above 10 x its initial loss",
              f"{CATAPULT}:d = 65536: every run with eta* lambda_0 > 4 diverges, and no other run does"),
             derived=True),
)

#: Every sentence of the three sources, in order.
SENTENCES: tuple[Sentence, ...] = _STABLE + _THEORY + _OVERVIEW
