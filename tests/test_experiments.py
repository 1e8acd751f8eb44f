"""Sweeps: layout, the on-disk cache (hits, invalidation, corruption, interruption) and divergence reports."""

import numpy as np
import pytest

from widthlimits import experiments as E
from widthlimits import models as M
from widthlimits import scalings as S
from widthlimits import training as T
from widthlimits.data import Dataset

MLP = M.MLP(n_in=5)


def toy_data():
    rng = np.random.default_rng(0)
    return Dataset(
        rng.normal(size=(8, 5)).astype(np.float32),
        np.tile([0.0, 1.0], 4).astype(np.float32),
        rng.normal(size=(4, 5)).astype(np.float32),
        np.tile([0.0, 1.0], 2).astype(np.float32),
    )


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WIDTHLIMITS_CACHE", str(tmp_path))
    return tmp_path / "runs"


FAMILIES = {
    "MF": S.preset("mf"),
    "NTK": S.preset("ntk"),
    "RMS": S.preset("mf", optimizer="rmsprop"),
    "IC-MF": E.Family(S.preset("mf"), init_corrected=True),
}


def test_sweep_layout_and_agreement_with_single_runs():
    sw = E.sweep(MLP, [16, 32], FAMILIES, toy_data(), seeds=[0, 3], n_steps=3, progress=False)
    assert sw.history.test_loss.shape == (2, 4, 1, 2, 4)
    assert sw.history.kernel.shape == (2, 4, 1, 2, 4, 2, 4)
    single = T.train(
        MLP, 32, S.preset("mf", optimizer="rmsprop"), toy_data(), key=__import__("jax").random.PRNGKey(3), n_steps=3
    )
    np.testing.assert_allclose(sw.get(width=32, family="RMS").test_logits[0, 1], single.test_logits, rtol=1e-6)
    assert sw.diverged() == []


def test_learning_rate_axis():
    sw = E.sweep(
        MLP, [16], {"MF": S.preset("mf")}, toy_data(), seeds=[0], ref_lrs=[0.01, 0.1], n_steps=2, progress=False
    )
    h = sw.get(width=16, family="MF")
    assert h.test_loss.shape == (2, 1, 3) and not np.allclose(h.test_loss[0], h.test_loss[1])


def test_cache_hit_skips_training(monkeypatch, private_cache):
    first = E.sweep(MLP, [16, 32], FAMILIES, toy_data(), seeds=[0], n_steps=2, progress=False)
    assert len(list(private_cache.glob("*.npz"))) == 2

    def boom(*a, **k):
        raise AssertionError("trained although cached")

    monkeypatch.setattr(T, "train_runs", boom)
    again = E.sweep(MLP, [16, 32], FAMILIES, toy_data(), seeds=[0], n_steps=2, progress=False)
    for a, b in zip(first.history, again.history):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change", [dict(n_steps=3), dict(seeds=[1]), dict(ref_lrs=[0.05]), dict(widths=[24])])
def test_changed_configuration_never_reads_a_stale_entry(monkeypatch, change):
    base = dict(widths=[16], seeds=[0], n_steps=2)
    E.sweep(MLP, base["widths"], {"MF": S.preset("mf")}, toy_data(), seeds=base["seeds"], n_steps=2, progress=False)
    calls = []
    real = T.train_runs
    monkeypatch.setattr(T, "train_runs", lambda *a, **k: calls.append(1) or real(*a, **k))
    cfg = base | change
    E.sweep(
        MLP,
        cfg["widths"],
        {"MF": S.preset("mf")},
        toy_data(),
        seeds=cfg["seeds"],
        n_steps=cfg["n_steps"],
        ref_lrs=cfg.get("ref_lrs"),
        progress=False,
    )
    assert calls, "a changed configuration must be recomputed"


def test_changed_exponent_is_a_different_entry(private_cache):
    E.sweep(MLP, [16], {"x": S.from_hat(-1.0, 1.0)}, toy_data(), seeds=[0], n_steps=1, progress=False)
    E.sweep(MLP, [16], {"x": S.from_hat(-1.0, 0.9)}, toy_data(), seeds=[0], n_steps=1, progress=False)
    assert len(list(private_cache.glob("*.npz"))) == 2


def test_corrupt_entry_is_recomputed_with_a_warning(private_cache):
    first = E.sweep(MLP, [16], {"MF": S.preset("mf")}, toy_data(), seeds=[0], n_steps=2, progress=False)
    (entry,) = private_cache.glob("*.npz")
    entry.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable cache entry"):
        again = E.sweep(MLP, [16], {"MF": S.preset("mf")}, toy_data(), seeds=[0], n_steps=2, progress=False)
    np.testing.assert_array_equal(first.history.test_logits, again.history.test_logits)
    assert np.load(entry)["test_logits"].shape == (1, 3, 4)  # rewritten whole: (runs, steps, test points)


def test_interrupted_sweep_keeps_finished_widths_and_leaves_no_partial_file(monkeypatch, private_cache):
    real, calls = T.train_runs, []

    def fail_on_second_width(mlp, width, *a, **k):
        calls.append(width)
        if width == 32:
            raise KeyboardInterrupt
        return real(mlp, width, *a, **k)

    monkeypatch.setattr(T, "train_runs", fail_on_second_width)
    with pytest.raises(KeyboardInterrupt):
        E.sweep(MLP, [16, 32], {"MF": S.preset("mf")}, toy_data(), seeds=[0], n_steps=2, progress=False)
    assert len(list(private_cache.glob("*.npz"))) == 1
    assert [p.name for p in private_cache.iterdir() if p.suffix != ".npz"] == []


def test_divergence_is_reported():
    with pytest.warns(E.DivergenceWarning, match="NaN/inf"):
        sw = E.sweep(
            MLP, [64], {"SP": S.preset("sp")}, toy_data(), seeds=[0, 1], ref_lrs=[1e38], n_steps=3, progress=False
        )
    assert [(r["family"], r["step"]) for r in sw.diverged()] == [("SP", 1), ("SP", 1)]


def test_bad_arguments():
    with pytest.raises(ValueError, match="widths"):
        E.sweep(MLP, [0], FAMILIES, toy_data(), seeds=[0], n_steps=1)
    with pytest.raises(ValueError, match="seeds"):
        E.sweep(MLP, [8], FAMILIES, toy_data(), seeds=[], n_steps=1)
    with pytest.raises(ValueError, match="families"):
        E.sweep(MLP, [8], {"x": "mf"}, toy_data(), seeds=[0], n_steps=1)


def test_clear_cache(private_cache):
    E.sweep(MLP, [16], {"MF": S.preset("mf")}, toy_data(), seeds=[0], n_steps=1, progress=False)
    assert E.clear_cache() == 1 and list(private_cache.glob("*.npz")) == []


def test_gram_sweep_groups_seeds_in_memory_bounded_chunks(monkeypatch):
    """Seed-major regrouping, shared draws and padded chunks give back exactly the single runs, in order."""
    rng = np.random.default_rng(2)
    data = Dataset(
        rng.normal(size=(12, 30)).astype(np.float32),
        np.tile([0.0, 1.0], 6).astype(np.float32),
        rng.normal(size=(6, 30)).astype(np.float32),
        np.tile([0.0, 1.0], 3).astype(np.float32),
    )
    mlp, width = M.MLP(n_in=30), 32
    fams = {"MF": S.preset("mf"), "NTK": S.preset("ntk"), "int": S.preset("intermediate")}
    run, draw = 4 * width * 4.5 * 18, 4 * width * 2 * 30  # the memory model of _gram_chunking
    monkeypatch.setattr(E, "MAX_GRAM_BATCH_BYTES", 3 * run + draw + 1)  # 3 runs sharing a draw fit, 6 do not
    assert E._gram_chunking(mlp, width, data, 18, 6) == (3, 3)
    calls = []
    real = T.train_runs
    monkeypatch.setattr(T, "train_runs", lambda *a, **k: calls.append(k.get("runs_per_key")) or real(*a, **k))
    sw = E.sweep(mlp, [width], fams, data, seeds=[5, 1, 3], ref_lrs=[0.02, 0.1], n_steps=3, progress=False)
    assert calls == [3] * 6 and sw.history.test_loss.shape == (1, 3, 2, 3, 4)  # 18 runs in chunks of 3
    monkeypatch.setattr(T, "train_runs", real)
    for name, lr, seed in [("MF", 0.1, 5), ("int", 0.02, 3), ("NTK", 0.1, 1)]:
        one = T.train(mlp, width, fams[name], data, key=__import__("jax").random.PRNGKey(seed), ref_lr=lr, n_steps=3)
        got = sw.get(width=width, family=name, lr=lr).test_logits[sw.seeds.index(seed)]
        np.testing.assert_allclose(got, one.test_logits, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="precision"):
        E.sweep(mlp, [width], fams, data, seeds=[0], n_steps=1, precision="fast")
