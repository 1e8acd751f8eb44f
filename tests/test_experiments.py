"""Sweeps: layout, learning-rate axis, seed-grouped chunks, divergence reports, argument checks before tracing,
statistics at initialisation, and the names re-exported from sweep_cache and results_files."""

import itertools

import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest
from _toy import FAMILIES, MLP, toy_data  # tests/ is on sys.path under pytest

from widthlimits import data as D
from widthlimits import experiments as E
from widthlimits import models as M
from widthlimits import results_files as R
from widthlimits import scalings as S
from widthlimits import sweep_cache as C
from widthlimits import training as T
from widthlimits.data import Dataset


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WIDTHLIMITS_CACHE", str(tmp_path))
    return tmp_path / "runs"


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


def test_divergence_is_reported():
    with pytest.warns(E.DivergenceWarning, match="diverged"):
        sw = E.sweep(
            MLP, [64], {"SP": S.preset("sp")}, toy_data(), seeds=[0, 1], ref_lrs=[1e38], n_steps=3, progress=False
        )
    assert [(r["family"], r["step"]) for r in sw.diverged()] == [("SP", 1), ("SP", 1)]


def test_bad_arguments():
    with pytest.raises(ValueError, match="widths"):
        E.sweep(MLP, [0], FAMILIES, toy_data(), seeds=[0], n_steps=1)
    with pytest.raises(ValueError, match="seeds"):
        E.sweep(MLP, [8], FAMILIES, toy_data(), seeds=[], n_steps=1)
    with pytest.raises(TypeError, match="families"):
        E.sweep(MLP, [8], {"x": "mf"}, toy_data(), seeds=[0], n_steps=1)


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


@pytest.mark.parametrize(
    ("n_runs", "chunk", "per_key", "sizes"),
    [(15, 9, 3, [9, 6]), (15, 2, 1, [2] * 7 + [1]), (18, 3, 3, [3] * 6), (5, 100, 1, [5]), (12, 5, 1, [4, 4, 4])],
)
def test_balanced_chunks_cover_the_runs_in_whole_groups_without_padding(n_runs, chunk, per_key, sizes):
    """The paper profile's 15 runs at 2^14 (groups of 3, at most 9) and 2^16 (at most 2) train no duplicate run."""
    bounds = E._balanced_chunks(n_runs, chunk, per_key)
    assert [b - a for a, b in bounds] == sizes
    assert bounds[0][0] == 0 and bounds[-1][1] == n_runs
    assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(bounds))  # contiguous


MLP3, MF = M.MLP(n_in=3), {"MF": S.preset("mf")}


def tiny(widths=(8,), **kw):
    """A 2-step sweep on 16 + 16 toy points: one compilation per width, shared by the tests below."""
    kw = dict(seeds=[0], n_steps=2, progress=False) | kw
    return E.sweep(MLP3, list(widths), MF, D.toy_2d(16, 16), **kw)


# --- validation before tracing ------------------------------------------------------------------------------------


def toy3():
    return D.toy_2d(16, 16)


def bad_data(**changes):
    return toy3()._replace(**changes)


_TOY = D.toy_2d(16, 16)
BAD_SWEEPS = [
    # (overrides of the sweep call, expected exception, text the message must contain)
    (dict(widths=[8.7]), TypeError, r"widths\[0\]"),
    (dict(widths=[8.0]), TypeError, r"widths\[0\]"),
    (dict(widths=[True]), TypeError, r"widths\[0\]"),
    (dict(widths=[0]), ValueError, r"widths\[0\] must be an integer in \[1, "),
    (dict(widths=[2**33]), ValueError, r"widths\[0\] must be an integer in \[1, "),
    (dict(widths=[]), ValueError, "widths must hold at least one"),
    (dict(widths=[8, 8]), ValueError, "widths must be distinct"),
    (dict(widths=8), TypeError, "widths must be a sequence"),
    (dict(seeds=[0.5]), TypeError, r"seeds\[0\]"),
    (dict(seeds=[0, 0]), ValueError, "seeds must be distinct"),
    (dict(seeds=[-1]), ValueError, r"seeds\[0\] must be an integer in \[0, "),
    (dict(seeds=[2**32]), ValueError, r"seeds\[0\]"),
    (dict(seeds=[]), ValueError, "seeds must hold at least one"),
    (dict(ref_lrs=[-0.02]), ValueError, r"ref_lrs\[0\] must be a finite real number in \(0, inf\)"),
    (dict(ref_lrs=[0.0]), ValueError, r"ref_lrs\[0\]"),
    (dict(ref_lrs=[float("nan")]), ValueError, r"ref_lrs\[0\]"),
    (dict(ref_lrs=[0.1, 0.1]), ValueError, "ref_lrs must be distinct"),
    (dict(ref_lrs=0.1), TypeError, "ref_lrs must be a sequence"),
    (dict(n_kernel=-3), ValueError, r"n_kernel must be an integer in \[1, inf\)"),
    (dict(n_kernel=2.5), TypeError, "n_kernel"),
    (dict(n_steps=-1), ValueError, "n_steps"),
    (dict(n_steps=1.5), TypeError, "n_steps"),
    (dict(ref_width=0), ValueError, "ref_width"),
    (dict(loss="l2"), ValueError, "loss must be one of"),
    (dict(engine="fast"), ValueError, "engine must be one of"),
    (dict(precision="fast"), ValueError, "precision must be one of"),
    (dict(cache="yes"), TypeError, "cache must be True or False"),
    (dict(progress=0), TypeError, "progress must be True or False"),
    (dict(mlp="mlp"), TypeError, "mlp must be a models.MLP"),
    (dict(families={}), ValueError, "families must name at least one"),
    (dict(families=[S.preset("mf")]), TypeError, "families must be a mapping"),
    (dict(families={1: S.preset("mf")}), TypeError, "families must have string names"),
    (dict(data=(_TOY.x_train, _TOY.y_train)), TypeError, "data must be a Dataset"),
    (dict(data=bad_data(y_train=2 * _TOY.y_train - 1)), ValueError, r"data.y_train must hold labels in \{0, 1\}"),
    (dict(data=bad_data(y_train=_TOY.y_train[:, None])), ValueError, r"data.y_train must have shape \(16\)"),
    (dict(data=bad_data(y_train=_TOY.y_train[:1])), ValueError, r"data.y_train must have shape \(16\)"),
    (dict(data=bad_data(y_test=_TOY.y_test[:3])), ValueError, "data.y_test"),
    (dict(data=bad_data(x_test=_TOY.x_test[:0], y_test=_TOY.y_test[:0])), ValueError, "data.x_test .*n >= 1"),
    (dict(data=bad_data(x_train=(_TOY.x_train * 60).astype(np.uint8))), TypeError, "data.x_train .*preprocess"),
    (dict(data=bad_data(x_train=_TOY.x_train * 255)), ValueError, "data.x_train .*did you forget data.preprocess"),
    (
        dict(data=bad_data(x_train=np.where(_TOY.x_train > 1, np.nan, _TOY.x_train))),
        ValueError,
        "data.x_train .*finite",
    ),
    (dict(mlp=M.MLP(n_in=5)), ValueError, r"data.x_train must have n_in=5 columns"),
]


@pytest.mark.parametrize("change, error, message", BAD_SWEEPS, ids=[str(c)[:60] for c, _, _ in BAD_SWEEPS])
def test_bad_sweep_arguments_raise_before_any_training(monkeypatch, private_cache, change, error, message):
    def boom(*a, **k):
        raise AssertionError("trained although the arguments are invalid")

    monkeypatch.setattr(T, "train_runs", boom)
    call = dict(mlp=MLP3, widths=[8], families=MF, data=_TOY, seeds=[0], n_steps=1, progress=False) | change
    with pytest.raises(error, match=message):
        E.sweep(call.pop("mlp"), call.pop("widths"), call.pop("families"), call.pop("data"), **call)
    assert not private_cache.exists()  # nothing written either


def test_numpy_integers_and_ranges_are_valid_arguments():
    sw = E.sweep(
        MLP3, np.array([8]), MF, _TOY, seeds=range(1), n_steps=np.int64(2), n_kernel=np.int32(10), progress=False
    )
    assert sw.widths == (8,) and sw.seeds == (0,) and sw.n_steps == 2 and type(sw.widths[0]) is int


not_an_integer = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.complex_numbers(max_magnitude=10),
)


@st.composite
def bad_widths_or_seeds(draw):
    """``(widths, seeds)`` with at least one defect: a non-integer, a repeat, or a value out of range."""
    good_w = draw(st.lists(st.integers(1, 64), min_size=1, max_size=3, unique=True))
    good_s = draw(st.lists(st.integers(0, 100), min_size=1, max_size=3, unique=True))
    target = draw(st.sampled_from(["widths", "seeds"]))
    values = list(good_w if target == "widths" else good_s)
    low, high = (1, 2**20) if target == "widths" else (0, 2**32 - 1)
    defect = draw(st.sampled_from(["type", "repeat", "range", "empty"]))
    if defect == "type":
        values.insert(draw(st.integers(0, len(values))), draw(not_an_integer))
    elif defect == "repeat":
        values.append(draw(st.sampled_from(values)))
    elif defect == "range":
        out = draw(st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1)))
        values.insert(draw(st.integers(0, len(values))), out)
    else:
        values = []
    return (values, good_s) if target == "widths" else (good_w, values)


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(bad_widths_or_seeds())
def test_sweep_never_runs_on_bad_widths_or_seeds(args):
    widths, seeds = args
    with pytest.raises((TypeError, ValueError), match=r"widths|seeds"):
        E.sweep(MLP3, widths, MF, _TOY, seeds=seeds, n_steps=0, progress=False, cache=False)


def test_sweep_get_names_the_available_values():
    sw = tiny([8], seeds=[0, 3], ref_lrs=[0.01, 0.1])
    assert sw.get(width=np.int64(8), family="MF", lr=np.float32(0.1), seed=3).test_loss.shape == (3,)
    np.testing.assert_array_equal(sw.get(seed=3).test_loss, sw.history.test_loss[:, :, :, 1])
    for kwargs, error, message in [
        (dict(width=999), ValueError, r"width must be one of this sweep's widths \(8,\)"),
        (dict(width=8.0), TypeError, "width"),
        (dict(family="NTK"), ValueError, r"family must be one of this sweep's families \('MF',\)"),
        (dict(family=0), TypeError, "family"),
        (dict(lr=0.5), ValueError, r"lr must be one of this sweep's ref_lrs \(0.01, 0.1\)"),
        (dict(lr=-1.0), ValueError, "lr"),
        (dict(seed=7), ValueError, r"seed must be one of this sweep's seeds \(0, 3\)"),
    ]:
        with pytest.raises(error, match=message):
            sw.get(**kwargs)
    default = tiny()
    assert default.get(lr=None).test_loss.shape == (1, 1, 1, 1, 3)
    with pytest.raises(ValueError, match="lr must be None"):
        default.get(lr=0.02)


def test_family_checks_its_fields():
    with pytest.raises(TypeError, match="scaling must be a Scaling"):
        E.Family("mf")
    with pytest.raises(TypeError, match="init_corrected must be True or False"):
        E.Family(S.preset("mf"), init_corrected=1)
    assert E.Family(S.preset("mf"), init_corrected=np.bool_(True)).init_corrected is True


@pytest.mark.parametrize(
    "change, error, message",
    [
        (dict(widths=[2**33]), ValueError, r"widths\[0\]"),
        (dict(widths=[8, 8]), ValueError, "widths must be distinct"),
        (dict(seeds=[1, 1]), ValueError, "seeds must be distinct"),
        (dict(seeds=[]), ValueError, "seeds"),
        (dict(xs=np.zeros((4, 5), np.float32)), ValueError, "xs must have n_in=3 columns"),
        (dict(xs=np.zeros((4, 3), np.uint8)), TypeError, "xs .*preprocess"),
        (dict(xs=np.zeros(3, np.float32)), ValueError, "xs must be a 2-D array"),
        (dict(families={"a": S.preset("mf"), "b": S.preset("mf", optimizer="rmsprop")}), ValueError, "one optimizer"),
        (dict(families={"a": E.Family(S.preset("mf"), init_corrected=True)}), ValueError, "init-corrected"),
        (dict(families={"a": "mf"}), TypeError, "families"),
        (dict(ref_width=-1), ValueError, "ref_width"),
    ],
)
def test_bad_at_init_arguments(change, error, message):
    call = dict(widths=[8], families=MF, xs=_TOY.x_test, seeds=[0]) | change
    with pytest.raises(error, match=message):
        E.at_init(MLP3, call.pop("widths"), call.pop("families"), call.pop("xs"), **call)


def test_at_init_accepts_a_plain_family():
    stats = E.at_init(MLP3, [8], {"MF": E.Family(S.preset("mf"))}, _TOY.x_test[:4], seeds=[0, 1])
    assert stats.logits.shape == (1, 1, 2, 4)


def test_moved_names_are_still_found_on_experiments():
    """Notebooks and scripts call experiments.load_asset, sweep_to_json, ...: the split kept them all."""
    for name in ("Sweep", "sweep_to_json", "sweep_from_json", "load_asset"):
        assert getattr(E, name) is getattr(R, name)
    assert E.clear_cache is C.clear_cache and E.CacheWarning is C.CacheWarning
    assert isinstance(tiny(), E.Sweep)
