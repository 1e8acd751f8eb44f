"""The IC-MF limit model: the MF recursion with a frozen offset, its GP start, and nets against it."""

import jax
import numpy as np
import pytest

from widthlimits import experiments, scalings
from widthlimits import icmf_limit as icmf
from widthlimits.data import Dataset
from widthlimits.models import MLP
from widthlimits.particle_limit import mf_limit, mf_particles

MLP_SMALL = MLP(n_in=8)


def tiny(n=6, n_test=4, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + n_test, 8)).astype(np.float32) * np.sqrt(8)
    y = (np.arange(n + n_test) % 2).astype(np.float32)
    return Dataset(x[:n], y[:n], x[n:], y[n:])


def test_zero_offset_is_the_mf_limit_and_offset_shifts_step_0():
    ds = tiny()
    cloud = mf_particles(MLP_SMALL, 64, key=jax.random.PRNGKey(0))
    mf = mf_limit(MLP_SMALL, ds, particles=cloud, n_steps=3)
    zero = icmf.icmf_limit(MLP_SMALL, ds, np.zeros((1, 10), np.float32), particles=cloud, n_steps=3)
    np.testing.assert_allclose(zero.test_logits[0], mf.test_logits, atol=1e-6)
    off = np.linspace(-1, 1, 10, dtype=np.float32)[None].repeat(2, 0)[None]  # (1, 2, N): leading axes kept
    run = icmf.icmf_limit(MLP_SMALL, ds, off, particles=cloud, n_steps=3)
    assert run.test_logits.shape == (1, 2, 4, 4) and run.test_loss.shape == (1, 2, 4)
    np.testing.assert_allclose(run.test_logits[0, 0, 0], mf.test_logits[0] + off[0, 0, 6:], atol=1e-6)
    assert not np.allclose(run.test_logits[0, 0, 1:] - off[0, 0, 6:], mf.test_logits[1:])  # the derivative sees it
    with pytest.raises(ValueError, match="offsets"):
        icmf.icmf_limit(MLP_SMALL, ds, np.zeros((2, 9)), particles=cloud, n_steps=1)


def test_net_offsets_vanish_at_the_reference_width_and_match_the_ic_net():
    ds = tiny()
    off = icmf.net_offsets(MLP_SMALL, (128, 512), ds, seeds=(0, 1))
    assert off.shape == (2, 2, 10) and np.abs(off[0]).max() == 0
    ic = experiments.Family(scalings.preset("mf"), True)
    sw = experiments.sweep(MLP_SMALL, (512,), {"IC": ic, "MF": scalings.preset("mf")}, ds, seeds=(0, 1), n_steps=0)
    f0 = sw.sel(width=512, family="IC").test_logits[:, 0] - sw.sel(width=512, family="MF").test_logits[:, 0]
    np.testing.assert_allclose(f0, off[1, :, 6:], atol=1e-5)


def test_gp_start_and_coupled_distance():
    ds = tiny()
    g = icmf.gp_start(MLP_SMALL, ds, key=jax.random.PRNGKey(1), n_samples=3)
    assert g.shape == (3, 10) and np.isfinite(g).all()
    f = np.ones((2, 3, 4, 5))
    d = icmf.coupled_distance(f, f + 0.1, f - 0.1)  # clouds' mean is f; their noise variance 0.01 is removed
    np.testing.assert_allclose(d.mc_var, 0.01, rtol=1e-6)
    assert d.pooled.shape == (2, 3) and np.allclose(d.pooled, 1e-6)
    with pytest.raises(ValueError, match="limit_a"):
        icmf.coupled_distance(f, f[:1], f)


def test_ntk_excess_finds_the_still_step():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(8, 4, 5))
    ic, ntk = rng.normal(size=(4, 4, 5)), 2 * rng.normal(size=(4, 4, 5))
    e = icmf.ntk_excess(ic, ntk, ref, np.array([0.05, 0.08, 0.3]))
    assert e.ic.shape == e.excess.shape == e.se.shape == (4,) and e.still == 2 and (e.se >= 0).all()
    assert icmf.ntk_excess(ic, ntk, ref, np.array([0.2, 0.3, 0.4])).still == 0
    with pytest.raises(ValueError, match="ref_move"):
        icmf.ntk_excess(ic, ntk, ref, np.zeros(2))
    with pytest.raises(ValueError, match="still"):
        icmf.ntk_excess(ic, ntk, ref, np.zeros(3), still=0)


def test_mf_limit_checks_its_offset():
    cloud = mf_particles(MLP_SMALL, 8, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="offset"):
        mf_limit(MLP_SMALL, tiny(), particles=cloud, n_steps=1, offset=np.zeros(3))


def test_icmf_draws_use_one_independent_cloud_per_start_and_noise_scales_with_particles():
    ds = tiny()
    starts = np.linspace(-1, 1, 20, dtype=np.float32).reshape(2, 10)
    runs = icmf.icmf_draws(MLP_SMALL, ds, starts, n_particles=32, seeds=(5, 6), n_steps=2)
    assert runs.shape == (2, 3, 4)
    one = icmf.icmf_limit(MLP_SMALL, ds, starts[1:], particles=mf_particles(MLP_SMALL, 32, key=jax.random.PRNGKey(6)),
                          n_steps=2)
    np.testing.assert_allclose(runs[1], one.test_logits[0], atol=1e-6)
    with pytest.raises(ValueError, match="seeds"):
        icmf.icmf_draws(MLP_SMALL, ds, starts, n_particles=32, seeds=(5,), n_steps=2)
    clouds = [mf_limit(MLP_SMALL, ds, n_particles=64, key=jax.random.PRNGKey(s), n_steps=2) for s in (1, 2)]
    nv = icmf.cloud_noise_var(clouds, 64, 16)
    a, b = (np.asarray(c.test_logits) for c in clouds)
    np.testing.assert_allclose(nv[:, 0], np.mean((a - b) ** 2, -1) / 2 * 4, rtol=1e-6)
    assert nv.shape == a.shape and np.all(nv == nv[:, :1])  # one value per step, the test points pooled
    with pytest.raises(TypeError, match="clouds"):
        icmf.cloud_noise_var(clouds[:1], 64, 16)


def test_four_limits_adds_icmf_from_the_ntk_limits_first_draws():
    ds = tiny()
    from widthlimits.kernel_limit import gp_logits, kernel_limit, limit_kernels

    k = limit_kernels(MLP_SMALL, ds)
    gp = np.asarray(gp_logits(k, key=jax.random.PRNGKey(3), n_samples=3))
    clouds = [mf_limit(MLP_SMALL, ds, n_particles=64, key=jax.random.PRNGKey(s), n_steps=2) for s in (1, 2)]
    out, nv = icmf.four_limits(MLP_SMALL, k, ds, gp, clouds, cloud_particles=64, n_draws=2, n_particles=32, seed=9,
                               ref_lr=0.02, n_steps=2)
    assert set(out) == {"MF", "NTK", "intermediate", "IC-MF"} and out["IC-MF"].shape == (2, 3, 4)
    assert nv.shape == (3, 4)
    ntk0 = kernel_limit(k, ds, n_steps=2, f0=gp[0]).test_logits
    np.testing.assert_allclose(out["NTK"][0], ntk0, atol=1e-5)
    cloud = mf_particles(MLP_SMALL, 32, key=jax.random.PRNGKey(9))
    np.testing.assert_allclose(out["IC-MF"][0, 0], gp[0, 6:] + icmf.icmf_limit(
        MLP_SMALL, ds, np.zeros((1, 10), np.float32), particles=cloud, n_steps=0).test_logits[0, 0], atol=1e-5)
    with pytest.raises(ValueError, match="n_draws"):
        icmf.four_limits(MLP_SMALL, k, ds, gp, clouds, cloud_particles=64, n_draws=4, n_particles=32, seed=9,
                         ref_lr=0.02, n_steps=2)
