"""Sweep results files: the JSON round trip and its checks, and every results file shipped in the package."""

import json

import numpy as np
import pytest

from widthlimits import data as D
from widthlimits import experiments as E
from widthlimits import models as M
from widthlimits import results_files as R
from widthlimits import scalings as S


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WIDTHLIMITS_CACHE", str(tmp_path))
    return tmp_path / "runs"


MLP3, MF = M.MLP(n_in=3), {"MF": S.preset("mf")}


def tiny(widths=(8,), **kw):
    """A 2-step sweep on 16 + 16 toy points: one compilation per width, shared by the tests below."""
    kw = dict(seeds=[0], n_steps=2, progress=False) | kw
    return E.sweep(MLP3, list(widths), MF, D.toy_2d(16, 16), **kw)


def test_json_round_trip_and_its_checks():
    sw = tiny([8], seeds=[0, 3])
    obj = json.loads(json.dumps(R.sweep_to_json(sw, fields=["test_loss", "kernel"], meta={"who": "test"})))
    back, meta = R.sweep_from_json(obj)
    assert meta == {"who": "test"} and back.widths == sw.widths and back.history.test_logits is None
    np.testing.assert_allclose(back.history.kernel, sw.history.kernel, rtol=1e-5)
    for kwargs, error, message in [
        (dict(fields="test_loss"), TypeError, "fields must be a sequence"),
        (dict(fields=["loss"]), ValueError, "fields must be History fields"),
        (dict(digits=0), ValueError, r"digits must be an integer in \[1, 17\]"),
        (dict(meta=[1]), TypeError, "meta must be a mapping"),
    ]:
        with pytest.raises(error, match=message):
            R.sweep_to_json(sw, **(dict(fields=["test_loss"], meta={}) | kwargs))
    with pytest.raises(TypeError, match="sw must be a Sweep"):
        R.sweep_to_json(obj, fields=[], meta={})
    with pytest.raises(ValueError, match="fields must be stored in this sweep"):
        R.sweep_to_json(back, fields=["test_logits"], meta={})
    short = json.loads(json.dumps(obj))
    short["history"]["test_loss"] = short["history"]["test_loss"][0][0][0][:1]
    with pytest.raises(ValueError, match=r"obj\['history'\]\['test_loss'\] must be a numeric array of shape"):
        R.sweep_from_json(short)
    steps = json.loads(json.dumps(obj))
    steps["axes"]["n_steps"] = 5
    with pytest.raises(ValueError, match="n_steps \\+ 1 = 6 steps"):
        R.sweep_from_json(steps)
    for broken, message in [(dict(axes=None), "'axes'"), (dict(format="x"), "format")]:
        with pytest.raises(ValueError, match=message):
            R.sweep_from_json(obj | broken)
    with pytest.raises(TypeError, match="obj must be a mapping"):
        R.sweep_from_json([obj])


def test_every_shipped_results_file_loads_and_bad_names_are_rejected():
    from importlib import resources

    files = [p for p in (resources.files("widthlimits") / "_assets").iterdir() if p.name.endswith(".json")]
    assert files
    sweeps = []
    for ref in files:  # a results file is one sweep, or (Figure 2) a dict of panels, each a sweep
        obj = json.loads(ref.read_text())
        if obj["format"] == "widthlimits.sweep/1":
            sweeps.append(R.load_asset(ref.name)[0])
        else:
            sweeps += [panel.sweep for panel in R.panels_from_json(obj)[0].values()]
    for sw in sweeps:
        assert sw.history.nonfinite_step.shape[:4] == (len(sw.widths), len(sw.families), len(sw.ref_lrs), len(sw.seeds))
    with pytest.raises(ValueError, match="name must be one of the results files"):
        R.load_asset("../data.py")
    with pytest.raises(ValueError, match=r"figure1_paper\.json"):
        R.load_asset("nope.json")
    with pytest.raises(TypeError, match="name must be a file name"):
        R.load_asset(1)


def _labelled_sweep():
    """A Sweep of known numbers: value = 1000 w + 100 f + 10 l + s at every step (axes 2, 3, 2, 4)."""
    w, f, l, s, t = np.ix_(range(2), range(3), range(2), range(4), range(5))
    loss = (1000 * w + 100 * f + 10 * l + s + 0 * t).astype(np.float32)
    fields = {name: None for name in E.training.History._fields}
    fields.update(train_loss=loss, nonfinite_step=np.full(loss.shape[:4], -1, np.int32))
    hist = E.training.History(**fields)
    return R.Sweep((8, 16), ("a", "b", "c"), (0.1, 0.2), (0, 1, 2, 3), 4, hist)


def test_sel_picks_by_label_and_keeps_listed_axes():
    sw = _labelled_sweep()
    h = sw.sel(width=16, family="b", lr=0.2, seed=3)
    np.testing.assert_array_equal(h.train_loss, np.full(5, 1113.0))
    assert h.nonfinite_step.shape == ()
    h = sw.sel(family=["c", "a"], seed=[1, 2], step=-1)  # outer selection, in the order asked for
    assert h.train_loss.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(h.train_loss[0, 0, :, :], [[201, 202], [211, 212]])
    np.testing.assert_array_equal(h.train_loss[1, 1, 1, :], [1011, 1012])
    assert h.nonfinite_step.shape == (2, 2, 2, 2)
    assert sw.sel(step=[0, 4]).train_loss.shape == (2, 3, 2, 4, 2)
    with pytest.raises(ValueError, match="family"):
        sw.sel(family="d")
    with pytest.raises(ValueError, match="step"):
        sw.sel(step=5)
    with pytest.raises(TypeError, match="axes"):
        sw.sel(depth=2)
    with pytest.raises(ValueError, match="lr"):
        sw.sel(lr="default")


def test_sel_drops_a_single_default_rate_axis():
    tiny_sw = tiny()
    h = tiny_sw.sel(width=8)
    assert h.train_loss.shape == (len(tiny_sw.families), len(tiny_sw.seeds), tiny_sw.n_steps + 1)
    np.testing.assert_array_equal(h.train_loss, tiny_sw.sel(width=8, lr="default").train_loss)


def test_init_stats_sel_by_label():
    mlp = M.MLP(n_in=3)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    st = E.at_init(mlp, [8, 16], {"MF": S.preset("mf"), "NTK": S.preset("ntk")}, x, seeds=[0, 1, 2])
    np.testing.assert_array_equal(st.sel(width=16, family="NTK", seed=1).logits, st.logits[1, 1, 1])
    assert st.sel(family="NTK", seed=[0, 2]).kernel.shape == (2, 2, 2, 4)
    with pytest.raises(ValueError, match="seed"):
        st.sel(seed=7)


def _shipped_panels() -> dict:
    from importlib import resources

    return json.loads((resources.files("widthlimits") / "_assets" / "figure2_paper.json").read_text())


def test_the_shipped_panels_file_loads_and_agrees_with_itself():
    obj = _shipped_panels()
    panels, meta = R.panels_from_json(obj)
    assert list(panels) == list(obj["panels"]) and meta == obj["meta"]
    for name, panel in panels.items():
        sw = panel.sweep
        assert sw.families == ("MF", "NTK", "SP") and list(sw.widths) == meta["settings"]["widths"][name]
        assert panel.meta["depth"] in (2, 3) and isinstance(panel.meta["diverged"], list)
        rms = panel.extra["test_logit_rms"]
        assert rms.shape == (len(sw.widths), 3, 1, len(sw.seeds), sw.n_steps + 1)
        # sel_array picks by label what the positional index of the old chapter picked
        np.testing.assert_array_equal(sw.sel_array(rms, family="MF", step=0), rms[:, 0, 0, :, 0])
        top = list(sw.widths[-3:])
        np.testing.assert_array_equal(sw.sel_array(rms, width=top, family="MF", step=-1), rms[-3:, 0, 0, :, -1])
    eps = panels["rmsprop_3"].extra["mf_eps_factor_seed0"]
    assert eps.shape == (len(panels["rmsprop_3"].sweep.widths), 4) and np.all((eps > 0) & (eps <= 1))


def test_panels_from_json_rejects_broken_files():
    obj = _shipped_panels()
    with pytest.raises(TypeError, match="obj must be a mapping"):
        R.panels_from_json([obj])
    with pytest.raises(ValueError, match=r"widthlimits\.figure2/1"):
        R.panels_from_json(obj | dict(format="widthlimits.sweep/1"))
    with pytest.raises(ValueError, match="non-empty object 'panels'"):
        R.panels_from_json(obj | dict(panels={}))
    broken = json.loads(json.dumps(obj))
    broken["panels"]["gd_3"]["history"]["train_loss"] = broken["panels"]["gd_3"]["history"]["train_loss"][:2]
    with pytest.raises(ValueError, match=r"obj\['panels'\]\['gd_3'\]: obj\['history'\]\['train_loss'\]"):
        R.panels_from_json(broken)
    broken = json.loads(json.dumps(obj))
    rms = broken["panels"]["gd_2"]["extra"]
    rms["test_logit_rms"] = [[w[0]] for w in rms["test_logit_rms"]]  # one family of three
    with pytest.raises(ValueError, match=r"\['extra'\]\['test_logit_rms'\] must be numeric of shape"):
        R.panels_from_json(broken)
    broken = json.loads(json.dumps(obj))
    broken["panels"]["rmsprop_3"]["extra"]["mf_eps_factor_seed0"] = [[1.0, 1.0]]  # one width of five
    with pytest.raises(ValueError, match=r"\['mf_eps_factor_seed0'\] must be numeric of shape \(5,\)"):
        R.panels_from_json(broken)
    broken = json.loads(json.dumps(obj))
    broken["meta"]["settings"]["widths"]["gd_3"] = [128, 256]
    with pytest.raises(ValueError, match="the file's settings record"):
        R.panels_from_json(broken)


def test_load_sweep_and_load_panels_read_the_file_named_by_the_environment(tmp_path, monkeypatch):
    env = "WIDTHLIMITS_TEST_RESULTS"
    monkeypatch.delenv(env, raising=False)
    sw, meta, origin = R.load_sweep("figure1_paper.json", env=env)
    assert origin.startswith("`widthlimits/_assets/figure1_paper.json`") and sw.widths[0] == 128
    np.testing.assert_array_equal(sw.history.test_loss, R.load_asset("figure1_paper.json")[0].history.test_loss)
    small = tmp_path / "mine.json"
    small.write_text(json.dumps(R.sweep_to_json(tiny(), fields=["test_loss"], meta={"who": "test"})))
    monkeypatch.setenv(env, str(small))
    sw, meta, origin = R.load_sweep("figure1_paper.json", env=env)
    assert sw.widths == (8,) and meta == {"who": "test"} and f"`${env}`" in origin and str(small) in origin
    monkeypatch.setenv(env, str(tmp_path / "absent.json"))
    with pytest.raises(ValueError, match="no such file"):
        R.load_panels("figure2_paper.json", env=env)
    monkeypatch.delenv(env)
    panels, meta, origin = R.load_panels("figure2_paper.json", env=env)
    assert set(panels) == {"gd_2", "gd_3", "rmsprop_3"} and "shipped" in origin
    with pytest.raises(ValueError, match="asset must be one of"):
        R.load_panels("nope.json")
    with pytest.raises(TypeError, match="env must be"):
        R.load_sweep("figure1_paper.json", env=1)


def test_sel_array_checks_the_layout():
    sw = _labelled_sweep()
    values = sw.history.train_loss[..., None] * np.ones(3)  # (2, 3, 2, 4, 5, 3): a per-run axis after the step
    picked = sw.sel_array(values, width=16, lr=0.2, step=-1)  # (family, seed, 3)
    np.testing.assert_array_equal(picked[..., 0], sw.sel(width=16, lr=0.2, step=-1).train_loss)
    with pytest.raises(ValueError, match="leading axes"):
        sw.sel_array(values[:1])
    with pytest.raises(ValueError, match="step axis"):
        sw.sel_array(values[:, :, :, :, :2], step=0)
    with pytest.raises(TypeError, match="sel_array takes the axes"):
        sw.sel_array(values, depth=2)
