"""The on-disk sweep cache: hits, invalidation (configuration, code, JAX flags), corruption, interruption,
verification of every entry against the request, write failures, and clearing (orphans included)."""

import ast
import errno
import json
import shutil
from pathlib import Path

import jax
import numpy as np
import pytest
from _toy import FAMILIES, MLP, toy_data  # tests/ is on sys.path under pytest

from widthlimits import data as D
from widthlimits import experiments as E
from widthlimits import models as M
from widthlimits import scalings as S
from widthlimits import sweep_cache as C
from widthlimits import training as T


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WIDTHLIMITS_CACHE", str(tmp_path))
    return tmp_path / "runs"


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
    with pytest.warns(C.CacheWarning, match="unreadable cache entry"):
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


def test_clear_cache(private_cache):
    E.sweep(MLP, [16], {"MF": S.preset("mf")}, toy_data(), seeds=[0], n_steps=1, progress=False)
    assert C.clear_cache() == 1 and list(private_cache.glob("*.npz")) == []


# --- the cache cannot lie: an entry is used only if it proves to be the requested one ---------------------------

MLP3, MF = M.MLP(n_in=3), {"MF": S.preset("mf")}


def tiny(widths=(8,), **kw):
    """A 2-step sweep on 16 + 16 toy points: one compilation per width, shared by the tests below."""
    kw = dict(seeds=[0], n_steps=2, progress=False) | kw
    return E.sweep(MLP3, list(widths), MF, D.toy_2d(16, 16), **kw)


def count_training(monkeypatch) -> list:
    calls, real = [], T.train_runs
    monkeypatch.setattr(T, "train_runs", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    return calls


def entry_of(private_cache, width):
    (path,) = [p for p in private_cache.glob("*.npz") if json.loads(np.load(p)["config"].item())["width"] == width]
    return path


def rewrite(path, **changes):
    """Replace some arrays of an entry in place, keeping its (correct) stored config."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    np.savez(path, **(arrays | changes))


def test_an_entry_copied_under_another_key_is_recomputed(monkeypatch, private_cache):
    """Width 16's entry (same shapes as width 32's) placed under width 32's key is caught by its stored config."""
    first = tiny([16, 32])
    shutil.copy(entry_of(private_cache, 16), entry_of(private_cache, 32))
    calls = count_training(monkeypatch)
    with pytest.warns(C.CacheWarning, match=r"config\['width'\] is 16 in the file but 32"):
        again = tiny([32])
    assert calls == [32] and not again.cached[0]
    np.testing.assert_array_equal(again.history.test_logits[0], first.history.test_logits[1])
    assert json.loads(np.load(entry_of(private_cache, 32))["config"].item())["width"] == 32  # overwritten
    assert tiny([32]).cached == (True,)  # and trusted from then on


@pytest.mark.parametrize("flag", [-1, 2])
def test_nonfinite_data_with_a_clean_or_late_flag_is_recomputed(monkeypatch, private_cache, flag):
    """All-NaN numbers whose nonfinite_step says -1 (never diverged), or a step after the first NaN, are corrupt."""
    first = tiny()
    (entry,) = private_cache.glob("*.npz")
    with np.load(entry) as f:
        nan = {k: np.full_like(f[k], np.nan) for k in ("train_loss", "test_logits")}
    rewrite(entry, **nan, nonfinite_step=np.full(1, flag, np.int32))
    nan_loss_only = np.load(entry)["train_loss"]
    assert np.isnan(nan_loss_only).all()
    calls = count_training(monkeypatch)
    with pytest.warns(C.CacheWarning, match="nonfinite_step"):
        again = tiny()
    assert calls == [8]
    np.testing.assert_array_equal(again.history.test_logits, first.history.test_logits)


def test_a_consistent_divergence_flag_is_trusted(monkeypatch, private_cache):
    """NaN from step 1 flagged at step 1 (or earlier: a finite-overflow criterion) is a legitimate entry."""
    tiny()
    (entry,) = private_cache.glob("*.npz")
    with np.load(entry) as f:
        loss = f["train_loss"].copy()
    loss[:, 1:] = np.nan
    for flag in (1, 0):
        rewrite(entry, train_loss=loss, nonfinite_step=np.full(1, flag, np.int32))
        calls = count_training(monkeypatch)
        with pytest.warns(E.DivergenceWarning):
            sw = tiny()
        assert calls == [] and sw.cached == (True,) and sw.diverged()[0]["step"] == flag


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("kernel", np.zeros((1, 3, 2, 3), np.float32), r"kernel has shape \(1, 3, 2, 3\), expected \(1, 3, 2, 10\)"),
        ("test_logits", np.zeros((1, 3, 15), np.float32), "test_logits has shape"),
        ("train_loss", np.zeros((2, 3), np.float32), "train_loss has shape"),
        ("test_loss", np.zeros((1, 3), np.float16), "test_loss has dtype float16, expected float32"),
        ("nonfinite_step", np.full(1, -1, np.int64), "nonfinite_step has dtype int64"),
        ("hat_distance", np.zeros((1, 3), np.float32), "hat_distance has shape"),
    ],
)
def test_a_wrong_shaped_or_typed_field_is_recomputed_with_a_warning(monkeypatch, private_cache, field, value, message):
    first = tiny()
    (entry,) = private_cache.glob("*.npz")
    rewrite(entry, **{field: value})
    with pytest.warns(C.CacheWarning, match=message):
        again = tiny()
    assert again.cached == (False,)
    for a, b in zip(first.history, again.history):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert (
        np.load(entry)[field].shape == getattr(first.history, field).shape[:1] + getattr(first.history, field).shape[4:]
    )


def test_an_entry_without_a_field_or_config_is_unreadable(private_cache):
    tiny()
    (entry,) = private_cache.glob("*.npz")
    with np.load(entry) as f:
        arrays = {k: f[k] for k in f.files if k != "config"}
    np.savez(entry, **arrays)
    with pytest.warns(C.CacheWarning, match="unreadable cache entry"):
        assert tiny().cached == (False,)


@pytest.mark.parametrize(
    "flag, other",
    [
        ("jax_threefry_partitionable", None),
        ("jax_enable_x64", None),
        ("jax_default_prng_impl", {"threefry2x32": "rbg"}),
    ],
)
def test_prng_and_precision_flags_are_part_of_the_key(flag, other):
    base = {"width": 8}
    before = C._environment()
    old = getattr(jax.config, flag)
    new = (not old) if other is None else other.get(old, "threefry2x32")
    jax.config.update(flag, new)
    try:
        after = C._environment()
    finally:
        jax.config.update(flag, old)
    assert before[flag] == old and after[flag] == new and C._environment() == before
    assert C._cache_key(base | before) != C._cache_key(base | after)


def test_a_changed_threefry_flag_recomputes_the_sweep(monkeypatch, private_cache):
    tiny()
    old = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", not old)
    try:
        calls = count_training(monkeypatch)
        sw = tiny()
    finally:
        jax.config.update("jax_threefry_partitionable", old)
    assert calls == [8] and sw.cached == (False,) and len(list(private_cache.glob("*.npz"))) == 2


def test_the_code_fingerprint_covers_the_validators():
    assert "_validate" in C._CODE_MODULES and "training" in C._CODE_MODULES


def test_an_unwritable_cache_warns_and_still_returns_the_results(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("WIDTHLIMITS_CACHE", str(blocker))
    with pytest.warns(C.CacheWarning, match=r"could not write the cache entry .*not-a-directory"):
        sw = tiny()
    assert sw.history.test_loss.shape == (1, 1, 1, 1, 3) and np.isfinite(sw.history.test_loss).all()


def test_a_full_disk_warns_and_still_returns_the_results(monkeypatch, private_cache):
    def full(path, payload):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(D, "_atomic_write", full)
    with pytest.warns(C.CacheWarning, match="No space left on device"):
        sw = tiny()
    assert sw.history.test_logits.shape == (1, 1, 1, 1, 3, 16) and not list(private_cache.glob("*"))


def test_clear_cache_removes_orphaned_temporary_files(private_cache):
    tiny()
    orphans = [private_cache / ".abc.npz.k1ll3d.tmp", private_cache / ".def.npz.x.tmp"]
    for o in orphans:
        o.write_bytes(b"half an entry")
    (private_cache / "keep.txt").write_text("not ours")  # neither an entry nor an orphan: left alone
    assert C.clear_cache() == 3
    assert sorted(p.name for p in private_cache.iterdir()) == ["keep.txt"]
    assert C.clear_cache() == 0


def test_the_code_fingerprint_covers_every_module_a_hashed_module_imports():
    """A module that training, the cache or the sweep imports decides the numbers or the entries; so it is hashed.

    results_files is the one exception: it only builds a Sweep from finished histories and reads/writes JSON.
    """
    lib = Path(C.__file__).parent
    for name in C._CODE_MODULES:
        tree = ast.parse((lib / f"{name}.py").read_text())
        imported = {
            a.name
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module == "widthlimits"
            for a in n.names
        }
        imported |= {
            n.module.split(".")[1]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("widthlimits.")
        }
        assert imported - {"results_files"} <= set(C._CODE_MODULES), (name, imported)
    assert "sweep_cache" in C._CODE_MODULES and "experiments" in C._CODE_MODULES


def test_the_code_fingerprint_follows_the_hashed_sources(monkeypatch):
    before = C._code_fingerprint()
    monkeypatch.setattr(C, "_CODE_MODULES", C._CODE_MODULES[:-1])
    assert C._code_fingerprint() != before
