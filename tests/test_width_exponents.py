"""Measured width exponents of a sweep's first steps, on synthetic sweeps whose power laws are known exactly."""

import numpy as np
import pytest

from widthlimits import experiments, limit_models, measure, scalings, training
from widthlimits import width_exponents as X
from widthlimits.results_files import Sweep

WIDTHS = (64, 128, 256, 512)
# Planted exponents: logits at init, kernel (input, output layer), first-step change, hat moves (input, output).
Q0, QKW, QKA, QK, QHW, QHA = -0.5, 0.25, -0.25, -0.75, 0.0, -0.5


def synthetic(n_seeds=4, n_steps=2, n_test=3, noise=0.0, seed=0):
    """A one-family Sweep whose records are exact powers of the width times seed noise ``1 + noise * N(0, 1)``."""
    rng = np.random.default_rng(seed)
    w = np.asarray(WIDTHS, float)[:, None, None, None]  # (W, K, L, S)
    shape = (len(WIDTHS), 1, 1, n_seeds)

    def jitter(*extra):
        return 1 + noise * rng.standard_normal((*shape, *extra))

    sign = np.where(rng.random((*shape, 1, n_test)) < 0.5, -1.0, 1.0)
    f0 = w[..., None, None] ** Q0 * sign * jitter(1, n_test)
    steps = np.arange(n_steps + 1)[:, None]  # step k moves the logits by k * w^QK
    logits = f0 + steps * w[..., None, None] ** QK * jitter(1, n_test)  # (W, K, L, S, T+1, n)
    kernel = np.stack([w**QKW * jitter(), w**QKA * jitter()], -1)[..., None, :, None] * np.ones((n_steps + 1, 1, 2))
    hat = np.stack([w**QHW * jitter(), w**QHA * jitter()], -1)[..., None, :] * steps  # (W, K, L, S, T+1, 2)
    fields = dict.fromkeys(training.History._fields)
    fields.update(
        train_loss=np.ones((*shape, n_steps + 1)),
        test_logits=logits,
        kernel=kernel,
        hat_distance=hat,
        nonfinite_step=np.full(shape, -1),
    )
    return Sweep(WIDTHS, ("p",), (None,), tuple(range(n_seeds)), n_steps, training.History(**fields))


def test_exact_power_laws_are_recovered_to_round_off():
    fits = X.fit(synthetic(), "p", ("q_0", "q_K_w", "q_K_a", "q_K", "q_h_w", "q_h_a", "q_h", "ratio"))
    planted = dict(q_0=Q0, q_K_w=QKW, q_K_a=QKA, q_K=QK, q_h_w=QHW, q_h_a=QHA, q_h=QHW, ratio=QK - Q0)
    for key, q in planted.items():
        assert fits[key].slope == pytest.approx(q, abs=1e-9), key
        assert fits[key].stderr < 1e-9, key  # no seed spread: every resample gives the same slope


def test_seed_noise_gives_a_slope_within_a_few_standard_errors():
    # 5% multiplicative noise on 8 seeds: the slope error is ~0.05/sqrt(8)/log2-span, the bootstrap estimates it.
    fits = X.fit(synthetic(n_seeds=8, noise=0.05, seed=3), "p", ("q_h_w", "q_K"), n_boot=200)
    for key, q in (("q_h_w", QHW), ("q_K", QK)):
        assert abs(fits[key].slope - q) < 5 * fits[key].stderr + 1e-6 and 0 < fits[key].stderr < 0.05


def test_step_quantities_use_fit_widths_and_init_ones_all_widths():
    sw = synthetic(noise=0.05, seed=1)
    fits = X.fit(sw, "p", ("q_0", "q_h_w"), fit_widths=(256, 512))
    alone = measure.bootstrap_slope((256, 512), X.samples(sw, "p", ("q_h_w",))["q_h_w"][2:], n_boot=100)
    assert fits["q_h_w"] == alone
    assert fits["q_0"] == X.fit(sw, "p", ("q_0",))["q_0"]


def test_learned_ratio_is_zero_at_step_zero_and_matches_the_last_step():
    sw = synthetic(noise=0.1)
    every = X.learned_ratio(sw, "p")
    assert every.shape == (len(WIDTHS), 4, 3) and np.all(every[..., 0] == 0)
    np.testing.assert_allclose(every[..., -1], X.learned_ratio(sw, "p", step=-1))


def test_predicted_follows_the_exponents():
    s = scalings.preset("mf")
    e, p = limit_models.exponents(s), X.predicted(s)
    assert p["ratio"] == e.q_h + 0.5 and p["q_K_w"] == e.q_K_w and set(p) == set(X.KEYS)


def test_max_deviation():
    fits = {"a": measure.PowerLaw(0.1, 0.0, 0.02), "b": measure.PowerLaw(-0.4, 0.0, 0.05)}
    fits = {"q_0": fits["a"], "q_h": fits["b"]}
    dev, se = X.max_deviation(fits, {"q_0": 0.0, "q_h": -0.5}, ("q_0", "q_h"))
    assert dev == pytest.approx(0.1) and se == 0.05
    with pytest.raises(ValueError, match="keys"):
        X.max_deviation(fits, {"q_0": 0.0}, ("q_0", "q_h"))


def test_point_summaries_read_the_sweep_and_the_init_draws():
    sw = synthetic(noise=0.1)
    logits = np.ones((len(WIDTHS), 1, 5, 3)) * 2.0
    kernel = np.ones((len(WIDTHS), 1, 5, 2, 3))
    init = experiments.InitStats(logits, kernel, WIDTHS, ("p",), tuple(range(5)))
    d = X.point_summaries(sw, init)["p"]
    np.testing.assert_allclose(d.logit, 2.0)
    np.testing.assert_allclose(d.kernel0, 2.0)  # summed over the two layers
    np.testing.assert_allclose(
        d.change,
        np.mean(np.abs(sw.sel(family="p", step=1).test_logits - sw.sel(family="p", step=0).test_logits), axis=(-2, -1)),
    )
    np.testing.assert_allclose(d.hat, sw.sel(family="p", step=1).hat_distance.max(-1).mean(-1))
    np.testing.assert_allclose(d.kernel, 0.0, atol=1e-12)  # the synthetic kernel does not move
    assert d.loss.shape == (len(WIDTHS), 3) and np.all(d.bad == -1) and d.n_steps == 2
    assert X.point_summaries(sw, init, with_kernel=False)["p"].kernel0 is None


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda sw: X.fit(sw.history, "p"), "sweep"),
        (lambda sw: X.fit(sw, "q"), "family"),
        (lambda sw: X.fit(sw, "p", "q_0"), "keys"),
        (lambda sw: X.fit(sw, "p", ("q_x",)), "keys"),
        (lambda sw: X.fit(sw, "p", fit_widths=(64, 1024)), "fit_widths"),
        (lambda sw: X.fit(sw, "p", n_boot=1), "n_boot"),
        (lambda sw: X.fit(synthetic(n_seeds=1), "p"), "seeds"),
        (lambda sw: X.predicted("mf"), "s"),
        (lambda sw: X.point_summaries(sw, None), "init"),
    ],
)
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises((TypeError, ValueError), match=parameter):
        call(synthetic())
