"""An adversarial probe of widthlimits' public API: hundreds of deliberately wrong calls, each classified.

Every case changes one argument of a call that is otherwise valid (``--baseline`` runs the valid calls) into
something wrong: a wrong type, NaN or inf, a negative, zero or non-integer size, a boolean or a string for a
number, repeated widths or seeds, labels in {-1, 1} or of the wrong shape, raw uint8 pixels, an empty test set,
inputs whose dimension is not ``mlp.n_in``, a width above ``_validate.MAX_WIDTH``, an option that does not exist,
a claim that must not pass. Each outcome is

* **clear**: ``TypeError``, ``ValueError`` or ``ClaimError`` whose message names the offending parameter (each
  case lists the names that count, matched as whole words);
* **opaque**: any other exception, or one whose message does not name the parameter;
* **silent**: the call returned a result (for claims: the claim passed).

Usage::

    python scripts/probe_bad_inputs.py [--json PATH] [--module NAME ...] [--baseline] [--strict]

Everything runs in this process on tiny shapes (toy data 16 + 16 points, widths 4-8, one step), so the whole
table takes a minute or two on a laptop CPU. Cases with a width above the cap run only if
``widthlimits._validate.MAX_WIDTH`` exists, and use one hidden layer and three inputs, so that even a missing
check allocates a few megabytes rather than aborting the process.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

# Before widthlimits is imported: sweeps must not touch the user's cache, chapters' sizes are irrelevant here.
os.environ.setdefault("WIDTHLIMITS_CACHE", tempfile.mkdtemp(prefix="widthlimits-probe-cache-"))
os.environ.setdefault("WIDTHLIMITS_PROFILE", "quick")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from widthlimits import (
    _validate,
    abc_parametrizations,
    claims,
    data,
    experiments,
    kernels,
    limit_models,
    limits,
    measure,
    models,
    plots,
    profiles,
    scalings,
    training,
    widgets,
)

MODULES = (
    "abc_parametrizations",
    "claims",
    "data",
    "experiments",
    "kernels",
    "limits",
    "measure",
    "models",
    "plots",
    "profiles",
    "scalings",
    "training",
    "widgets",
)
OUTCOMES = ("clear", "opaque", "silent")
NAN, INF = float("nan"), float("inf")
#: A width just above the cap, and one that overflows every float (the cap's value if it exists, else 2**20).
OVER = getattr(_validate, "MAX_WIDTH", 2**20) + 1
HUGE = 2**200


@dataclasses.dataclass(frozen=True)
class Case:
    """One deliberately wrong call."""

    function: str  # "module.name" of the public function or method probed
    label: str  # what is wrong with the call
    call: Callable[[], Any] = dataclasses.field(repr=False, compare=False)
    names: tuple[str, ...]  # parameter names a clear message mentions (any one of them)
    huge: bool = False  # asks for a width above the cap: run only if the cap exists

    @property
    def module(self) -> str:
        return self.function.split(".")[0]

    @property
    def id(self) -> str:
        return f"{self.function}[{self.label}]"


@dataclasses.dataclass(frozen=True)
class Result:
    case: Case
    outcome: str  # one of OUTCOMES, or "skipped"
    error: str  # exception type name ("" if none)
    message: str
    seconds: float

    def as_dict(self) -> dict:
        c = self.case
        return dict(
            module=c.module,
            function=c.function,
            label=c.label,
            names=list(c.names),
            outcome=self.outcome,
            error=self.error,
            message=self.message[:400],
            seconds=round(self.seconds, 4),
        )


def names_parameter(message: str, names: Iterable[str]) -> bool:
    """Whether ``message`` mentions one of ``names`` as a whole word (``x`` is not found in ``x_train``)."""
    return any(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", message) for n in names)


def classify(case: Case) -> Result:
    """Run one case and classify its outcome; never raises (except KeyboardInterrupt and friends)."""
    if case.huge and not isinstance(getattr(_validate, "MAX_WIDTH", None), int):
        return Result(case, "skipped", "", "no _validate.MAX_WIDTH: a width above it could abort the process", 0.0)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = case.call()
            jax.block_until_ready(out) if _is_arrays(out) else None
    except (TypeError, ValueError, claims.ClaimError) as err:
        msg = str(err)
        outcome = "clear" if names_parameter(msg, case.names) else "opaque"
        return Result(case, outcome, type(err).__name__, msg, time.perf_counter() - start)
    except Exception as err:  # anything else is by definition not a clear report of a bad argument
        return Result(case, "opaque", type(err).__name__, str(err), time.perf_counter() - start)
    return Result(case, "silent", "", _short(out), time.perf_counter() - start)


def _is_arrays(out: Any) -> bool:
    try:
        return any(isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(out))
    except Exception:
        return False


def _short(out: Any) -> str:
    text = f"returned {type(out).__name__}"
    try:
        text += f": {out!r}"[:200]
    except Exception:
        pass
    return text.replace("\n", " ")


# --------------------------------------------------------------------------------------------- the case table


def _with_env(name: str, value: str, fn: Callable[[], Any]) -> Any:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        return fn()
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def _call(fn: Callable[..., Any], base: dict, change: dict) -> Any:
    return fn(**(base | change))


def _below(low: int) -> list[tuple[str, Any]]:
    """Bad values for an integer parameter whose valid range starts at ``low``."""
    negative = ("-1", -1) if low - 1 != -1 else ("-2", -2)
    return [(f"{low - 1}", low - 1), negative, ("4.5", 4.5), ("True", True), ("'8'", "8"), ("None", None), ("nan", NAN)]


def build_cases(modules: Iterable[str] = MODULES) -> tuple[list[Case], list[tuple[str, Callable[[], Any]]]]:
    """The case table, and the valid calls it is derived from (for ``--baseline``), for ``modules``."""
    wanted = set(modules)
    cases: list[Case] = []
    bases: list[tuple[str, Callable[[], Any]]] = []

    def add(function: str, label: str, call: Callable[[], Any], *names: str, huge: bool = False) -> None:
        if function.split(".")[0] in wanted:
            cases.append(Case(function, label, call, tuple(names), huge))

    def vary(function: str, fn: Callable[..., Any], base: dict, param: str, values, *names: str, huge=False) -> None:
        """One case per bad value of ``param`` in the otherwise valid call ``fn(**base)``."""
        if function.split(".")[0] not in wanted:
            return
        if not any(f == function and b.keywords is base for f, b in bases):  # arrays cannot be compared with ==
            bases.append((function, functools.partial(fn, **base)))
        for label, value in values:
            add(
                function,
                f"{param}={label}",
                functools.partial(_call, fn, base, {param: value}),
                *(names or (param,)),
                huge=huge,
            )

    # Fixtures: tiny and valid. Three inputs (x1, x2, 1), widths 4-8.
    ds = data.toy_2d(16, 16)
    x, xt = ds.x_train, ds.x_test
    mlp, mlp2 = models.MLP(n_in=3), models.MLP(depth=2, n_in=3)
    key = jax.random.PRNGKey(0)
    mf, ntk = scalings.preset("mf"), scalings.preset("ntk")
    mf_rms = scalings.preset("mf", optimizer="rmsprop")
    params = models.init(mlp, 8, mf, key=key)
    params2 = models.init(mlp2, 8, mf, key=key)
    pm1 = ds._replace(y_train=2 * ds.y_train - 1, y_test=2 * ds.y_test - 1)  # labels in {-1, 1}
    column = ds._replace(y_train=ds.y_train[:, None])
    one_hot = ds._replace(y_train=np.eye(2, dtype=np.float32)[ds.y_train.astype(int)])
    short_y = ds._replace(y_train=ds.y_train[:-1])
    pixels = ds._replace(x_train=np.full(x.shape, 200, np.uint8), x_test=np.full(xt.shape, 200, np.uint8))
    wide = ds._replace(x_train=np.ones((16, 4), np.float32), x_test=np.ones((16, 4), np.float32))  # n_in 4, not 3
    no_test = ds._replace(x_test=np.zeros((0, 3), np.float32), y_test=np.zeros((0,), np.float32))
    nan_x = ds._replace(x_train=np.where(np.arange(16)[:, None] == 3, np.nan, x).astype(np.float32))
    bad_data = [
        ("labels in {-1,1}", pm1, ("y_train", "y")),
        ("labels as a column", column, ("y_train", "y")),
        ("one-hot labels", one_hot, ("y_train", "y")),
        ("one label short", short_y, ("y_train", "y")),
        ("uint8 pixels", pixels, ("x_train", "x")),
        ("n_in 4 for mlp.n_in 3", wide, ("x_train", "n_in", "x")),
        ("empty test set", no_test, ("x_test", "n_test", "y_test")),
        ("NaN input", nan_x, ("x_train", "x")),
        ("None", None, ("data",)),
        ("a 3-tuple", (x, ds.y_train, xt), ("data",)),
    ]
    str_num = [("nan", NAN), ("inf", INF), ("'0.5'", "0.5"), ("True", True), ("None", None), ("1+1j", 1 + 1j)]

    if "profiles" in wanted:
        vary(
            "profiles.get",
            profiles.get,
            dict(name="quick"),
            "name",
            [
                ("123", 123),
                ("None", None),
                ("['quick']", ["quick"]),
                ("'huge'", "huge"),
                ("''", ""),
                ("b'quick'", b"quick"),
            ],
            "name",
            "profile",
        )
        good = dict(name="quick", widths=(64, 128), n_seeds=1, n_steps=1, n_train=4, n_test=4)
        vary("profiles.Profile", profiles.Profile, good, "name", [("'custom'", "custom"), ("None", None)])
        vary(
            "profiles.Profile",
            profiles.Profile,
            good,
            "widths",
            [
                ("(64, 64)", (64, 64)),
                ("(0,)", (0,)),
                ("(64.5,)", (64.5,)),
                ("()", ()),
                ("(OVER,)", (OVER,)),
                ("64", 64),
                ("(True,)", (True,)),
                ("('64',)", ("64",)),
            ],
        )
        vary("profiles.Profile", profiles.Profile, good, "n_seeds", [("0", 0), ("True", True), ("1.5", 1.5)])
        vary("profiles.Profile", profiles.Profile, good, "n_steps", [("-1", -1), ("1.5", 1.5), ("'1'", "1")])
        vary("profiles.Profile", profiles.Profile, good, "n_train", [("3", 3), ("0", 0), ("'10'", "10")])
        vary("profiles.Profile", profiles.Profile, good, "n_test", [("3", 3), ("0", 0), ("True", True)])
        add("profiles.Profile.pick", "paper missing", lambda: profiles.get("quick").pick(quick=1, book=2), "paper")
        add(
            "profiles.current",
            "$WIDTHLIMITS_PROFILE=huge",
            lambda: _with_env(profiles.ENV_VAR, "huge", profiles.current),
            profiles.ENV_VAR,
        )

    if "data" in wanted:
        img = np.zeros((2, 32, 32, 3), np.uint8)
        vary(
            "data.preprocess",
            data.preprocess,
            dict(images=img),
            "images",
            [
                ("float images", img.astype(np.float32)),
                ("flat (2, 3072) uint8", np.zeros((2, 3072), np.uint8)),
                ("one HWC image", img[0]),
                ("channel-first", np.zeros((2, 3, 32, 32), np.uint8)),
                ("int64 values 300", np.full((2, 32, 32, 3), 300)),
                ("a string", "images"),
                ("a list", [[1, 2]]),
                ("NaN floats", np.full((2, 32, 32, 3), np.nan, np.float32)),
            ],
        )
        good = dict(n_train=16, n_test=16)
        vary("data.toy_2d", data.toy_2d, good, "n_train", [("15", 15), *_below(2), ("16.0", 16.0)])
        vary("data.toy_2d", data.toy_2d, good, "n_test", [("15", 15), ("0", 0), ("True", True), ("4.5", 4.5)])
        vary("data.toy_2d", data.toy_2d, good, "kind", [("'spiral'", "spiral"), ("1", 1), ("None", None)])
        vary("data.toy_2d", data.toy_2d, good, "seed", [("'a'", "a"), ("-1", -1), ("1.5", 1.5), ("True", True)])
        good = dict(n_train=4, n_test=4)
        vary(
            "data.load_cifar2",
            data.load_cifar2,
            good,
            "n_train",
            [("3", 3), ("0", 0), ("-2", -2), ("1.5", 1.5), ("True", True), ("'10'", "10"), ("10**6", 10**6)],
        )
        vary(
            "data.load_cifar2",
            data.load_cifar2,
            good,
            "n_test",
            [("3", 3), ("0", 0), ("True", True), ("10**6", 10**6), ("2.5", 2.5)],
        )
        vary("data.load_cifar2", data.load_cifar2, good, "seed", [("'x'", "x"), ("-1", -1), ("1.5", 1.5)])
        vary("data.load_cifar2", data.load_cifar2, good, "source", [("123", 123), ("None", None), ("1.5", 1.5)])
        vary(
            "data.load_raw",
            data.load_raw,
            dict(source="bundled"),
            "source",
            [("123", 123), ("None", None), ("['bundled']", ["bundled"])],
        )
        vary(
            "data.fingerprint",
            data.fingerprint,
            dict(ds=ds),
            "ds",
            [("None", None), ("a string", "abc"), ("a dict", {"x_train": x}), ("a 3-tuple", (x, x, x))],
        )
        add("data.download_cifar10", "directory=123", lambda: data.download_cifar10(123), "directory")
        add("data.download_cifar10", "directory=1.5", lambda: data.download_cifar10(1.5), "directory")

    if "scalings" in wanted or "abc_parametrizations" in wanted:
        good = dict(q_sigma=-1.0, q_w=1.0, q_v=0.0, q_a=-1.0)
        for p in ("q_sigma", "q_w", "q_v", "q_a"):
            vary("scalings.Scaling", scalings.Scaling, good, p, str_num[:4])
        vary(
            "scalings.Scaling",
            scalings.Scaling,
            good,
            "q_sigma",
            [("jnp.array(nan)", jnp.array(np.nan)), ("np.float32(inf)", np.float32(np.inf)), ("1+1j", 1 + 1j)],
        )
        vary(
            "scalings.Scaling",
            scalings.Scaling,
            good,
            "optimizer",
            [("'adam'", "adam"), ("None", None), ("'GD'", "GD")],
        )
        good = dict(q_sigma=-1.0, q_a=-1.0, q_w=1.0)
        for p in ("q_sigma", "q_a", "q_w"):
            vary("scalings.from_raw", scalings.from_raw, good, p, str_num[:4])
        vary("scalings.from_raw", scalings.from_raw, good, "q_v", [("nan", NAN), ("'0'", "0")])
        vary("scalings.from_raw", scalings.from_raw, good, "optimizer", [("'sgd'", "sgd")])
        good = dict(q_sigma=-1.0, q_tilde=1.0)
        vary(
            "scalings.from_hat",
            scalings.from_hat,
            good,
            "q_sigma",
            [*str_num, ("jnp.array(nan)", jnp.array(np.nan)), ("an array", np.array([0.5, 1.0]))],
        )
        vary("scalings.from_hat", scalings.from_hat, good, "q_tilde", str_num[:4])
        vary("scalings.from_hat", scalings.from_hat, good, "q_tilde_w", [("nan", NAN), ("'1'", "1")])
        vary("scalings.from_hat", scalings.from_hat, good, "optimizer", [("'adam'", "adam"), ("None", None)])
        vary(
            "scalings.to_hat",
            scalings.to_hat,
            dict(s=mf),
            "s",
            [("None", None), ("'mf'", "mf"), ("a tuple", (0, 0, 0, 0))],
        )
        good = dict(name="intermediate")
        vary(
            "scalings.preset",
            scalings.preset,
            good,
            "name",
            [("'lazy'", "lazy"), ("None", None), ("1", 1), ("['mf']", ["mf"]), ("'MF'", "MF")],
        )
        vary(
            "scalings.preset", scalings.preset, good, "optimizer", [("'adam'", "adam"), ("'GD'", "GD"), ("None", None)]
        )
        vary(
            "scalings.preset",
            scalings.preset,
            good,
            "q",
            [("2.0", 2.0), ("0.4", 0.4), ("nan", NAN), ("'0.75'", "0.75"), ("True", True)],
        )
        vary(
            "scalings.stack",
            scalings.stack,
            dict(scalings=[mf, ntk]),
            "scalings",
            [("[]", []), ("'mf'", "mf"), ("[mf, None]", [mf, None]), ("a bare Scaling", mf)],
        )
        add("scalings.stack", "mixed optimizers", lambda: scalings.stack([mf, mf_rms]), "optimizer", "scalings")
        good = dict(s=mf, width=64)
        vary(
            "scalings.hyperparams",
            scalings.hyperparams,
            good,
            "width",
            [*_below(1), ("64.0", 64.0), ("2**20+1", OVER), ("2**200", HUGE), ("np.float64(64)", np.float64(64))],
        )
        vary("scalings.hyperparams", scalings.hyperparams, good, "ref_width", [("0", 0), ("1.5", 1.5), ("OVER", OVER)])
        vary(
            "scalings.hyperparams",
            scalings.hyperparams,
            good,
            "ref_lr",
            [("-1", -1.0), ("0", 0.0), ("nan", NAN), ("inf", INF), ("'0.02'", "0.02"), ("True", True)],
        )
        vary("scalings.hyperparams", scalings.hyperparams, good, "s", [("None", None), ("'mf'", "mf")])
        vary("limit_models.exponents", limit_models.exponents, dict(s=mf), "s", [("None", None), ("'mf'", "mf")])
        vary(
            "limit_models.classify",
            limit_models.classify,
            dict(s=mf),
            "atol",
            [("-1", -1), ("nan", NAN), ("0.5", 0.5), ("'0'", "0")],
        )
        vary(
            "limit_models.classify",
            limit_models.classify,
            dict(s=mf),
            "s",
            [("None", None), ("stacked", scalings.stack([mf, ntk]))],
        )
        add(
            "limit_models.classify",
            "from_hat(jnp.array(nan), 1)",
            lambda: limit_models.classify(scalings.from_hat(jnp.array(np.nan), 1.0)),
            "q_sigma",
        )
        vary(
            "abc_parametrizations.to_abc",
            abc_parametrizations.to_abc,
            dict(s=mf),
            "theta",
            [("nan", NAN), ("'0'", "0"), ("inf", INF)],
        )
        vary(
            "abc_parametrizations.to_abc",
            abc_parametrizations.to_abc,
            dict(s=mf),
            "s",
            [("rmsprop", mf_rms)],
            "optimizer",
        )
        vary("abc_parametrizations.to_abc", abc_parametrizations.to_abc, dict(s=mf), "s", [("None", None)])
        abc_sp = abc_parametrizations.ABC_PRESETS["SP"]
        bad_abc = [
            ("None", None),
            ("(1, 2)", (1, 2)),
            ("a NaN", abc_parametrizations.ABC((NAN, 0.0), (0.0, 0.0), 0.0)),
            ("a string", abc_parametrizations.ABC((0.0, "x"), (0.0, 0.5), 0.0)),
        ]
        vary(
            "abc_parametrizations.from_abc",
            abc_parametrizations.from_abc,
            dict(p=abc_sp),
            "p",
            [*bad_abc, ("a_1 + b_1 != 0", abc_parametrizations.ABC((0.5, 0.5), (0.0, 0.0), 0.0))],
        )
        vary("abc_parametrizations.tp4_r", abc_parametrizations.tp4_r, dict(p=abc_sp), "p", bad_abc)
        vary("abc_parametrizations.tp4_stable", abc_parametrizations.tp4_stable, dict(p=abc_sp), "p", bad_abc[:2])
        vary(
            "abc_parametrizations.tp4_stable",
            abc_parametrizations.tp4_stable,
            dict(p=abc_sp),
            "atol",
            [("-1", -1), ("nan", NAN)],
        )
        vary(
            "abc_parametrizations.tp4_nontrivial", abc_parametrizations.tp4_nontrivial, dict(p=abc_sp), "p", bad_abc[:2]
        )
        vary(
            "abc_parametrizations.tp4_nontrivial",
            abc_parametrizations.tp4_nontrivial,
            dict(p=abc_sp),
            "atol",
            [("nan", NAN), ("'0'", "0")],
        )

    if "models" in wanted:
        good = dict(n_in=3)
        vary("models.MLP", models.MLP, good, "depth", _below(1))
        vary("models.MLP", models.MLP, good, "n_in", [("0", 0), ("2.5", 2.5), ("True", True), ("'3'", "3")])
        vary("models.MLP", models.MLP, good, "activation", [("'gelu'", "gelu"), ("None", None), ("'ReLU'", "ReLU")])
        vary(
            "models.MLP",
            models.MLP,
            good,
            "negative_slope",
            [("1.5", 1.5), ("-0.1", -0.1), ("nan", NAN), ("'0.1'", "0.1"), ("True", True)],
        )
        vary("models.MLP", models.MLP, good, "init_law", [("'orthogonal'", "orthogonal"), ("None", None)])
        good = dict(mlp=mlp, width=8, key=key)
        vary(
            "models.init_reference",
            models.init_reference,
            good,
            "width",
            [("0", 0), ("4.5", 4.5), ("True", True), ("'8'", "8"), ("None", None)],
        )
        vary(
            "models.init_reference",
            models.init_reference,
            good,
            "width",
            [("2**20+1", OVER), ("2**200", HUGE)],
            huge=True,
        )
        vary(
            "models.init_reference",
            models.init_reference,
            good,
            "key",
            [("'key'", "key"), ("0", 0), ("uint32 (3,)", jnp.zeros(3, jnp.uint32)), ("None", None)],
        )
        vary("models.init_reference", models.init_reference, good, "mlp", [("None", None), ("'mlp'", "mlp")])
        good = dict(mlp=mlp, width=8, scaling=mf, key=key)
        vary("models.init", models.init, good, "width", [("0", 0), ("4.5", 4.5)])
        vary("models.init", models.init, good, "width", [("2**20+1", OVER)], huge=True)
        vary("models.init", models.init, good, "scaling", [("'mf'", "mf"), ("None", None)])
        vary("models.init", models.init, good, "ref_width", [("0", 0), ("1.5", 1.5)])
        vary("models.init", models.init, good, "key", [("None", None), ("1.0", 1.0)])
        vary("models.init", models.init, good, "mlp", [("'MLP'", "MLP")])
        vary(
            "models.rescale",
            models.rescale,
            dict(params=params, factor=0.5),
            "factor",
            [("nan", NAN), ("-1", -1.0), ("'2'", "2"), ("0", 0.0), ("True", True)],
        )
        vary("models.rescale", models.rescale, dict(params=params, factor=0.5), "params", [("None", None), ("[]", [])])
        x1 = x[0]
        good = dict(mlp=mlp, params=params, x=x1)
        vary(
            "models.apply",
            models.apply,
            good,
            "x",
            [
                ("(4,) for n_in 3", jnp.ones(4)),
                ("a batch (16, 3)", x),
                ("int array", jnp.array([0, 0, 1])),
                ("NaN", jnp.array([np.nan, 0.0, 1.0])),
                ("a list", [0.0, 0.0, 1.0]),
                ("a string", "x"),
            ],
        )
        vary(
            "models.apply",
            models.apply,
            good,
            "params",
            [("None", None), ("depth-2 params", params2), ("missing 'a'", {"w": params["w"], "v": ()})],
        )
        vary("models.apply", models.apply, good, "mlp", [("None", None)])
        good = dict(mlp=mlp, params=params, xs=x)
        vary(
            "models.apply_batch",
            models.apply_batch,
            good,
            "xs",
            [
                ("(16, 4) for n_in 3", jnp.ones((16, 4))),
                ("one example (3,)", x1),
                ("uint8 pixels", np.full((16, 3), 200, np.uint8)),
                ("NaN", nan_x.x_train),
                ("a string", "abc"),
                ("(16, 3, 1)", x[:, :, None]),
            ],
        )
        vary("models.apply_batch", models.apply_batch, good, "params", [("depth-2 params", params2)])
        vary(
            "models.preactivations",
            models.preactivations,
            dict(mlp=mlp, params=params, x=x1),
            "x",
            [("(4,)", jnp.ones(4)), ("NaN", jnp.full(3, np.nan))],
        )
        vary(
            "models.features",
            models.features,
            dict(mlp=mlp, params=params, x=x1),
            "x",
            [("(4,)", jnp.ones(4)), ("(2, 3)", x[:2])],
        )
        good = dict(mlp=mlp, params=params, xs1=x[:4], xs2=x[:4])
        vary(
            "models.layer_kernels",
            models.layer_kernels,
            good,
            "xs1",
            [("(4, 4)", jnp.ones((4, 4))), ("NaN", nan_x.x_train)],
        )
        vary("models.layer_kernels", models.layer_kernels, good, "xs2", [("(4, 4)", jnp.ones((4, 4))), ("1-D", x1)])
        vary(
            "models.layer_kernel_diag",
            models.layer_kernel_diag,
            dict(mlp=mlp, params=params, xs=x),
            "xs",
            [("(4, 4)", jnp.ones((4, 4))), ("1-D", x1), ("int", np.ones((4, 3), int))],
        )
        ref4 = models.init_reference(mlp, 4, key=key)
        good = dict(mlp=mlp, params0=params, params0_reference=models.init_reference(mlp, 8, key=key))
        vary("models.init_corrected", models.init_corrected, good, "params0", [("None", None)])
        vary(
            "models.init_corrected",
            models.init_corrected,
            good,
            "params0_reference",
            [("width 4 vs 8", ref4), ("depth-2", params2)],
            "params0_reference",
            "params0",
        )

    if "measure" in wanted:
        good = dict(widths=[64, 128, 256], values=[1.0, 2.0, 4.0])
        vary(
            "measure.fit_power_law",
            measure.fit_power_law,
            good,
            "widths",
            [
                ("[128, 128, 128]", [128, 128, 128]),
                ("one width", [128]),
                ("[0, 128, 256]", [0, 128, 256]),
                ("negative", [-64, 128, 256]),
                ("NaN", [NAN, 128, 256]),
                ("inf", [INF, 128, 256]),
                ("strings", ["64", "128", "256"]),
                ("booleans", [True, False, True]),
                ("2-D", np.ones((3, 1))),
                ("None", None),
            ],
        )
        add("measure.fit_power_law", "two equal widths", lambda: measure.fit_power_law([128, 128], [1, 4]), "widths")
        vary(
            "measure.fit_power_law",
            measure.fit_power_law,
            good,
            "values",
            [
                ("NaN", [1.0, NAN, 4.0]),
                ("negative", [1.0, -2.0, 4.0]),
                ("zero", [1.0, 0.0, 4.0]),
                ("inf", [1.0, INF, 4.0]),
                ("too short", [1.0, 2.0]),
                ("strings", ["1", "2", "4"]),
                ("booleans", [True, True, True]),
                ("2-D", [[1.0, 2.0, 4.0]]),
                ("None", None),
            ],
        )
        samples = np.exp(np.random.default_rng(0).normal(size=(3, 4)))
        good = dict(widths=[64, 128, 256], samples=samples, n_boot=10)
        vary(
            "measure.bootstrap_slope",
            measure.bootstrap_slope,
            good,
            "samples",
            [
                ("one seed", samples[:, :1]),
                ("2 rows for 3 widths", samples[:2]),
                ("1-D", samples[:, 0]),
                ("NaN", np.where(samples > 1.5, np.nan, samples)),
                ("negative", -samples),
                ("strings", [["a"] * 4] * 3),
            ],
            "samples",
            "statistic",
        )
        vary(
            "measure.bootstrap_slope",
            measure.bootstrap_slope,
            good,
            "n_boot",
            [("0", 0), ("1", 1), ("1.5", 1.5), ("True", True), ("'10'", "10")],
        )
        vary("measure.bootstrap_slope", measure.bootstrap_slope, good, "seed", [("-1", -1), ("'0'", "0"), ("1.5", 1.5)])
        vary(
            "measure.bootstrap_slope",
            measure.bootstrap_slope,
            good,
            "statistic",
            [("'mean'", "mean"), ("identity (an array)", lambda s: s)],
        )
        vary("measure.bootstrap_slope", measure.bootstrap_slope, good, "widths", [("[128] * 3", [128] * 3)])
        a23 = np.zeros((2, 3))
        good = dict(a=a23, b=np.ones((2, 3)))
        vary("measure.sup_distance", measure.sup_distance, good, "b", [("(4,) vs (2, 3)", np.ones(4))], "a", "b")
        vary("measure.sup_distance", measure.sup_distance, good, "axis", [("5", 5), ("1.5", 1.5), ("True", True)])
        vary(
            "measure.sup_distance",
            measure.sup_distance,
            good,
            "a",
            [("a string", "x"), ("None", None), ("(2, 0)", np.zeros((2, 0)))],
            "a",
            "b",
        )
        add("measure.sup_distance", "scalars", lambda: measure.sup_distance(1.0, 2.0), "a", "b")
        empty = np.zeros((2, 0))
        add("measure.sup_distance", "empty along axis", lambda: measure.sup_distance(empty, empty), "a", "b")

    if "widgets" in wanted:

        def draw(fig: Figure, **_: Any) -> None:  # an empty figure: rendering costs milliseconds
            pass

        grid = {"slope": (0.0, 1.0), "optimizer": ("gd", "rmsprop")}
        good = dict(draw=draw, grid=grid, figsize=(1, 1), dpi=10)
        vary("widgets.Explorer", widgets.Explorer, good, "draw", [("None", None), ("'draw'", "draw")])
        vary(
            "widgets.Explorer",
            widgets.Explorer,
            good,
            "grid",
            [
                ("{}", {}),
                ("an empty axis", {"a": ()}),
                ("a string axis", {"a": "abc"}),
                ("an int key", {1: (1, 2)}),
                ("repeated values", {"a": (1, 1)}),
                ("NaN value", {"a": (1.0, NAN)}),
                ("None", None),
                ("a list of pairs", [("a", (1, 2))]),
            ],
        )
        vary(
            "widgets.Explorer",
            widgets.Explorer,
            good,
            "defaults",
            [
                ("off-grid", {"slope": 3.0}),
                ("unknown name", {"b": 1}),
                ("a string", "slope"),
                ("True for 1.0", {"slope": True}),
            ],
        )
        vary(
            "widgets.Explorer",
            widgets.Explorer,
            good,
            "dpi",
            [("0", 0), ("5.5", 5.5), ("True", True), ("'72'", "72"), ("1000", 1000)],
        )
        vary(
            "widgets.Explorer",
            widgets.Explorer,
            good,
            "figsize",
            [("(0, 3)", (0, 3)), ("'big'", "big"), ("(nan, 2)", (NAN, 2)), ("(3,)", (3,)), ("(-1, 2)", (-1, 2))],
        )
        vary(
            "widgets.Explorer",
            widgets.Explorer,
            good,
            "labels",
            [("a non-string", {"slope": 1}), ("unknown", {"b": "B"})],
        )
        ex = widgets.Explorer(**good)
        point = {"slope": 0.0, "optimizer": "gd"}
        vary("widgets.Explorer.render", ex.render, point, "slope", [("0.25", 0.25), ("True", True), ("None", None)])
        add("widgets.Explorer.render", "missing optimizer", lambda: ex.render(slope=0.0), "parameters", "params")
        add("widgets.Explorer.render", "unknown parameter", lambda: ex.render(**point, extra=1), "parameters", "params")
        vary(
            "widgets.Explorer.static",
            ex.static,
            dict(path=[point]),
            "path",
            [
                ("[]", []),
                ("'abc'", "abc"),
                ("off-grid point", [{"slope": 9.0, "optimizer": "gd"}]),
                ("None", None),
                ("a bare dict", point),
            ],
        )
        vary(
            "widgets.Explorer.static",
            ex.static,
            dict(path=[point]),
            "start",
            [("1", 1), ("-1", -1), ("0.5", 0.5), ("True", True)],
        )
        vary(
            "widgets.Explorer.move_ms",
            ex.move_ms,
            dict(path=[point]),
            "path",
            [("off-grid point", [{"slope": 9.0, "optimizer": "gd"}]), ("None", None)],
        )
        vary(
            "widgets.path",
            widgets.path,
            dict(grid=grid, waypoints=[point]),
            "waypoints",
            [
                ("[]", []),
                ("off-grid", [{"slope": 2.0, "optimizer": "gd"}]),
                ("None", None),
                ("missing optimizer", [{"slope": 0.0}]),
                ("'x'", "x"),
            ],
        )
        vary(
            "widgets.path",
            widgets.path,
            dict(grid=grid, waypoints=[point]),
            "grid",
            [("None", None), ("{}", {}), ("repeated values", {"slope": (0.0, 0.0), "optimizer": ("gd",)})],
        )

    if "claims" in wanted:
        # A failed claim (ClaimError, naming the claim) is a clear outcome too: the claim names are unique words.
        add(
            "claims.holds",
            "condition=nan",
            lambda: claims.holds("probe-holds-nan", np.nan),
            "condition",
            "probe-holds-nan",
        )
        add(
            "claims.holds",
            "condition='False'",
            lambda: claims.holds("probe-holds-str", "False"),
            "condition",
            "probe-holds-str",
        )
        add(
            "claims.holds",
            "condition=[False]",
            lambda: claims.holds("probe-holds-list", [False]),
            "condition",
            "probe-holds-list",
        )
        add(
            "claims.holds",
            "condition=an array",
            lambda: claims.holds("probe-holds-arr", np.array([True, False])),
            "condition",
            "probe-holds-arr",
        )
        add("claims.holds", "condition=1", lambda: claims.holds("probe-holds-int", 1), "condition", "probe-holds-int")
        add(
            "claims.holds",
            "condition=None",
            lambda: claims.holds("probe-holds-none", None),
            "condition",
            "probe-holds-none",
        )
        add("claims.holds", "measured='x'", lambda: claims.holds("probe-holds-m", True, measured="x"), "measured")
        add("claims.holds", "name=123", lambda: claims.holds(123, True), "name")
        add("claims.less", "margin=-10", lambda: claims.less("probe-less-margin", 5, 1, margin=-10), "margin")
        add(
            "claims.less",
            "margin=nan",
            lambda: claims.less("probe-less-mnan", 1, 2, margin=NAN),
            "margin",
            "probe-less-mnan",
        )
        add("claims.less", "margin='0'", lambda: claims.less("probe-less-mstr", 1, 2, margin="0"), "margin")
        add("claims.less", "smaller=nan", lambda: claims.less("probe-less-nan", NAN, 1), "smaller", "probe-less-nan")
        add("claims.less", "smaller='1'", lambda: claims.less("probe-less-str", "1", 2), "smaller")
        add("claims.less", "smaller=True", lambda: claims.less("probe-less-bool", True, 2), "smaller")
        add("claims.less", "larger=None", lambda: claims.less("probe-less-none", 1, None), "larger")
        add("claims.less", "larger=inf", lambda: claims.less("probe-less-inf", 1, INF), "larger", "probe-less-inf")
        add(
            "claims.close",
            "measured=nan",
            lambda: claims.close("probe-close-nan", NAN, 0.0, 0.1),
            "measured",
            "probe-close-nan",
        )
        add("claims.close", "measured='0.5'", lambda: claims.close("probe-close-str", "0.5", 0.5, 0.1), "measured")
        add("claims.close", "measured=True", lambda: claims.close("probe-close-bool", True, 1.0, 0.1), "measured")
        add(
            "claims.close",
            "measured=an array",
            lambda: claims.close("probe-close-arr", np.array([1.0, 2.0]), 1.0, 0.1),
            "measured",
        )
        add(
            "claims.close",
            "expected=nan",
            lambda: claims.close("probe-close-enan", 0.5, NAN, 0.1),
            "expected",
            "probe-close-enan",
        )
        add("claims.close", "tol=-1", lambda: claims.close("probe-close-tneg", 0.5, 0.5, -1), "tol")
        add("claims.close", "tol=nan", lambda: claims.close("probe-close-tnan", 0.5, 0.5, NAN), "tol")
        add("claims.close", "tol='0.1'", lambda: claims.close("probe-close-tstr", 0.5, 0.5, "0.1"), "tol")
        add("claims.close", "tol=inf", lambda: claims.close("probe-close-tinf", 0.5, 100.0, INF), "tol")
        add(
            "claims.close",
            "relative='yes'",
            lambda: claims.close("probe-close-rel", 0.5, 0.5, 0.1, relative="yes"),
            "relative",
        )
        add(
            "claims.within",
            "low > high",
            lambda: claims.within("probe-within-empty", 0.5, 1, 0),
            "low",
            "high",
            "probe-within-empty",
        )
        add(
            "claims.within",
            "low=nan",
            lambda: claims.within("probe-within-nan", 0.5, NAN, 1),
            "low",
            "probe-within-nan",
        )
        add("claims.within", "low='0'", lambda: claims.within("probe-within-str", 0.5, "0", 1), "low")
        add("claims.within", "measured='0.5'", lambda: claims.within("probe-within-m", "0.5", 0, 1), "measured")
        add("claims.within", "high=None", lambda: claims.within("probe-within-none", 0.5, 0, None), "high")

    if "plots" in wanted:
        fig = Figure()
        ax = fig.subplots()
        vary("plots.family_color", plots.family_color, dict(name="MF"), "name", [("None", None), ("1", 1)])
        vary(
            "plots.family_marker", plots.family_marker, dict(name="MF"), "name", [("None", None), ("['NTK']", ["NTK"])]
        )
        vary(
            "plots.width_colors",
            plots.width_colors,
            dict(widths=[64, 128]),
            "widths",
            [("[]", []), ("[64, 64]", [64, 64]), ("[0, 64]", [0, 64]), ("['a']", ["a"]), ("64", 64), ("[nan]", [NAN])],
        )
        vary("plots.width_colors", plots.width_colors, dict(widths=[64, 128]), "cmap", [("'nope'", "nope"), ("1", 1)])
        vals = np.ones((2, 4))
        vary(
            "plots.curves",
            plots.curves,
            dict(ax=ax, values=vals),
            "values",
            [("'abc'", "abc"), ("3-D", np.ones((2, 3, 4))), ("no steps", np.ones((2, 0))), ("None", None)],
        )
        vary(
            "plots.curves",
            plots.curves,
            dict(ax=ax, values=vals),
            "nonfinite_step",
            [
                ("[1.5, -1]", np.array([1.5, -1.0])),
                ("3 seeds for 2", np.array([0, 0, 0])),
                ("step 10 > T", np.array([10, -1])),
            ],
        )
        vary("plots.curves", plots.curves, dict(ax=ax, values=vals), "ax", [("None", None)])
        fit = measure.fit_power_law([64, 128], [1.0, 2.0])
        good = dict(ax=ax, widths=[64, 128], values=[1.0, 2.0], fit=fit)
        vary("plots.power_law", plots.power_law, good, "values", [("3 for 2 widths", [1, 2, 3]), ("negative", [1, -2])])
        vary("plots.power_law", plots.power_law, good, "widths", [("[0, 128]", [0, 128]), ("strings", ["a", "b"])])
        vary("plots.power_law", plots.power_law, good, "fit", [("None", None), ("a tuple", (1.0,))])
        vary("plots.power_law", plots.power_law, good, "ax", [("None", None)])

    if "training" in wanted:
        good = dict(scaling=mf, key=key)
        vary("training.make_run", training.make_run, good, "scaling", [("'mf'", "mf"), ("None", None)])
        vary("training.make_run", training.make_run, good, "key", [("None", None), ("'k'", "k")])
        vary(
            "training.make_run",
            training.make_run,
            good,
            "ref_lr",
            [("-1", -1.0), ("0", 0.0), ("nan", NAN), ("'0.02'", "0.02"), ("True", True)],
        )
        vary(
            "training.make_run", training.make_run, good, "init_corrected", [("'yes'", "yes"), ("2", 2), ("None", None)]
        )
        lrs = {"w": 0.1, "v": (), "a": 0.1}
        vary(
            "training.optimizer",
            training.optimizer,
            dict(name="gd", lrs=lrs),
            "name",
            [("'adam'", "adam"), ("None", None)],
            "name",
            "optimizer",  # the library's word for this choice everywhere (Scaling.optimizer)
        )
        vary(
            "training.optimizer",
            training.optimizer,
            dict(name="gd", lrs=lrs),
            "lrs",
            [("None", None), ("negative", {"w": -1.0, "v": (), "a": 0.1}), ("NaN", {"w": NAN, "v": (), "a": 0.1})],
        )
        f4, y4 = jnp.ones(4), jnp.array([0.0, 1.0, 1.0, 0.0])
        for fn_name, fn in (
            ("logistic_loss", training.logistic_loss),
            ("square_loss", training.square_loss),
            ("accuracy", training.accuracy),
        ):
            vary(
                f"training.{fn_name}",
                fn,
                dict(logits=f4, y=y4),
                "y",
                [
                    ("{-1,1}", 2 * y4 - 1),
                    ("5 for 4", jnp.ones(5)),
                    ("a column", y4[:, None]),
                    ("one-hot", jnp.eye(2)[jnp.array([0, 1, 1, 0])]),
                ],
            )
            vary(f"training.{fn_name}", fn, dict(logits=f4, y=y4), "logits", [("'a'", "a"), ("(4, 1)", f4[:, None])])
        good = dict(mlp=mlp, optimizer_name="gd", n_train=16)
        vary("training.resolve_engine", training.resolve_engine, good, "engine", [("'fast'", "fast"), ("None", None)])
        vary(
            "training.resolve_engine",
            training.resolve_engine,
            good | dict(mlp=mlp2),
            "engine",
            [("'gram' at depth 2", "gram")],
        )
        vary("training.resolve_engine", training.resolve_engine, good, "optimizer_name", [("'adam'", "adam")])
        vary(
            "training.resolve_engine",
            training.resolve_engine,
            good,
            "n_train",
            [("-1", -1), ("1.5", 1.5), ("'16'", "16")],
        )
        vary("training.resolve_engine", training.resolve_engine, good, "mlp", [("None", None)])
        good = dict(mlp=mlp, width=4, scaling=mf, data=ds, key=key, n_steps=1, n_kernel=2)
        vary("training.train", training.train, good, "width", _below(1)[:5])
        vary("training.train", training.train, good, "width", [("2**20+1", OVER), ("2**200", HUGE)], huge=True)
        vary(
            "training.train", training.train, good, "n_steps", [("-1", -1), ("1.5", 1.5), ("True", True), ("'1'", "1")]
        )
        vary("training.train", training.train, good, "n_kernel", [("0", 0), ("-1", -1), ("1.5", 1.5)])
        vary("training.train", training.train, good, "ref_width", [("0", 0), ("OVER", OVER)])
        vary("training.train", training.train, good, "engine", [("'fast'", "fast")])
        vary("training.train", training.train, good, "loss", [("'hinge'", "hinge")])
        vary("training.train", training.train, good, "precision", [("'fp16'", "fp16")])
        vary("training.train", training.train, good, "ref_lr", [("-0.02", -0.02), ("nan", NAN), ("0", 0.0)])
        vary("training.train", training.train, good, "init_corrected", [("'no'", "no")])
        vary("training.train", training.train, good, "key", [("None", None), ("'k'", "k")])
        vary("training.train", training.train, good, "scaling", [("'mf'", "mf")])
        vary("training.train", training.train, good, "mlp", [("None", None)])
        for label, bad, names in bad_data:
            vary("training.train", training.train, good, "data", [(label, bad)], "data", *names)
        batch = jax.tree.map(lambda leaf: jnp.asarray(leaf)[None], training.make_run(mf, key=key))
        good = dict(mlp=mlp, width=4, runs=batch, data=ds, n_steps=1, n_kernel=2)
        vary(
            "training.train_runs",
            training.train_runs,
            good,
            "runs",
            [("no batch axis", training.make_run(mf, key=key)), ("None", None)],
        )
        vary("training.train_runs", training.train_runs, good, "runs_per_key", [("3", 3), ("0", 0)])
        vary("training.train_runs", training.train_runs, good, "width", [("0", 0), ("4.5", 4.5)])
        vary(
            "training.train_runs",
            training.train_runs,
            good,
            "data",
            [("labels in {-1,1}", pm1)],
            "data",
            "y_train",
            "y",
        )

    if "experiments" in wanted:
        vary("experiments.Family", experiments.Family, dict(scaling=mf), "scaling", [("'mf'", "mf"), ("None", None)])
        vary("experiments.Family", experiments.Family, dict(scaling=mf), "init_corrected", [("'yes'", "yes"), ("2", 2)])
        good = dict(
            mlp=mlp,
            widths=[4],
            families={"MF": mf},
            data=ds,
            seeds=[0],
            n_steps=1,
            n_kernel=2,
            cache=False,
            progress=False,
        )
        vary(
            "experiments.sweep",
            experiments.sweep,
            good,
            "widths",
            [
                ("[]", []),
                ("[0]", [0]),
                ("[4, 4]", [4, 4]),
                ("[4.7]", [4.7]),
                ("['4']", ["4"]),
                ("[True]", [True]),
                ("4", 4),
                ("None", None),
            ],
        )
        vary("experiments.sweep", experiments.sweep, good, "widths", [("[2**20+1]", [OVER])], huge=True)
        vary(
            "experiments.sweep",
            experiments.sweep,
            good,
            "seeds",
            [
                ("[]", []),
                ("[0, 0]", [0, 0]),
                ("[-1]", [-1]),
                ("[1.5]", [1.5]),
                ("['0']", ["0"]),
                ("[True]", [True]),
                ("0", 0),
            ],
        )
        vary(
            "experiments.sweep",
            experiments.sweep,
            good,
            "families",
            [("{}", {}), ("{'x': 'mf'}", {"x": "mf"}), ("{1: mf}", {1: mf}), ("['MF']", ["MF"]), ("None", None)],
        )
        vary("experiments.sweep", experiments.sweep, good, "n_steps", [("-1", -1), ("1.5", 1.5), ("True", True)])
        vary(
            "experiments.sweep",
            experiments.sweep,
            good,
            "ref_lrs",
            [
                ("[-0.02]", [-0.02]),
                ("[nan]", [NAN]),
                ("[]", []),
                ("[0.02, 0.02]", [0.02, 0.02]),
                ("['0.02']", ["0.02"]),
                ("0.02", 0.02),
            ],
        )
        vary("experiments.sweep", experiments.sweep, good, "n_kernel", [("0", 0), ("1.5", 1.5)])
        vary("experiments.sweep", experiments.sweep, good, "loss", [("'hinge'", "hinge")])
        vary("experiments.sweep", experiments.sweep, good, "engine", [("'fast'", "fast")])
        vary("experiments.sweep", experiments.sweep, good, "precision", [("'fp16'", "fp16")])
        vary("experiments.sweep", experiments.sweep, good, "ref_width", [("0", 0)])
        vary("experiments.sweep", experiments.sweep, good, "cache", [("'no'", "no")])
        vary("experiments.sweep", experiments.sweep, good, "progress", [("'no'", "no")])
        vary("experiments.sweep", experiments.sweep, good, "mlp", [("None", None)])
        for label, bad, names in bad_data[:7]:
            vary("experiments.sweep", experiments.sweep, good, "data", [(label, bad)], "data", *names)
        good = dict(mlp=mlp, widths=[4], families={"MF": mf}, xs=x, seeds=[0])
        vary(
            "experiments.at_init",
            experiments.at_init,
            good,
            "widths",
            [("[0]", [0]), ("[4, 4]", [4, 4]), ("[4.5]", [4.5]), ("[]", [])],
        )
        vary("experiments.at_init", experiments.at_init, good, "widths", [("[2**20+1]", [OVER])], huge=True)
        vary(
            "experiments.at_init", experiments.at_init, good, "seeds", [("[]", []), ("[0, 0]", [0, 0]), ("[-1]", [-1])]
        )
        vary(
            "experiments.at_init",
            experiments.at_init,
            good,
            "xs",
            [
                ("(16, 4) for n_in 3", np.ones((16, 4), np.float32)),
                ("NaN", nan_x.x_train),
                ("uint8", np.full((16, 3), 200, np.uint8)),
                ("1-D", x[0]),
            ],
        )
        vary("experiments.at_init", experiments.at_init, good, "families", [("{}", {}), ("{'x': 'mf'}", {"x": "mf"})])
        vary("experiments.at_init", experiments.at_init, good, "ref_width", [("0", 0)])
        sw = experiments.sweep(mlp, [4], {"MF": mf}, ds, seeds=[0], n_steps=1, n_kernel=2, cache=False, progress=False)
        vary("experiments.Sweep.get", sw.get, dict(width=4), "width", [("999", 999), ("'4'", "4")])
        vary("experiments.Sweep.get", sw.get, dict(family="MF"), "family", [("'nope'", "nope"), ("0", 0)])
        vary("experiments.Sweep.get", sw.get, dict(family="MF"), "lr", [("0.5", 0.5)])
        good = dict(sw=sw, fields=["train_loss"], meta={})
        vary(
            "experiments.sweep_to_json",
            experiments.sweep_to_json,
            good,
            "fields",
            [("['nope']", ["nope"]), ("'train_loss'", "train_loss"), ("None", None)],
        )
        vary("experiments.sweep_to_json", experiments.sweep_to_json, good, "meta", [("None", None), ("'m'", "m")])
        vary(
            "experiments.sweep_to_json",
            experiments.sweep_to_json,
            good,
            "digits",
            [("0", 0), ("-1", -1), ("1.5", 1.5), ("True", True)],
        )
        vary("experiments.sweep_to_json", experiments.sweep_to_json, good, "sw", [("None", None)])
        vary(
            "experiments.sweep_from_json",
            experiments.sweep_from_json,
            dict(obj=experiments.sweep_to_json(**good)),
            "obj",
            [("{}", {}), ("None", None), ("format only", {"format": "widthlimits.sweep/1"}), ("a string", "{}")],
        )
        vary(
            "experiments.load_asset",
            experiments.load_asset,
            dict(name="figure1_paper.json"),
            "name",
            [("'nope.json'", "nope.json"), ("None", None), ("'../data.py'", "../data.py")],
        )

    if "kernels" in wanted:
        good = dict(activation="relu", s11=1.0, s12=0.5, s22=1.0)
        vary("kernels.dual", kernels.dual, good, "activation", [("'gelu'", "gelu"), ("None", None)])
        vary("kernels.dual", kernels.dual, good, "s12", [("2 (not PSD)", 2.0)], "s12", "s11", "s22")
        vary("kernels.dual", kernels.dual, good, "s11", [("-1", -1.0), ("nan", NAN), ("'1'", "1")])
        vary(
            "kernels.dual",
            kernels.dual,
            good | dict(activation="leaky_relu"),
            "negative_slope",
            [("2", 2.0), ("nan", NAN), ("'0.1'", "0.1")],
        )
        vary("kernels.dual", kernels.dual, good | dict(activation="tanh"), "n_points", [("0", 0), ("1.5", 1.5)])
        good = dict(fn=lambda u, v: u * v, s11=1.0, s12=0.5, s22=1.0, n_points=4)
        vary("kernels.gaussian_expectation", kernels.gaussian_expectation, good, "fn", [("'x'", "x"), ("None", None)])
        vary("kernels.gaussian_expectation", kernels.gaussian_expectation, good, "n_points", [("0", 0), ("-1", -1)])
        vary("kernels.gaussian_expectation", kernels.gaussian_expectation, good, "s11", [("-1", -1.0), ("nan", NAN)])
        good = dict(x1=x, x2=xt, depth=1, activation="relu")
        vary("kernels.layer_terms", kernels.layer_terms, good, "depth", [("0", 0), ("1.5", 1.5), ("True", True)])
        vary("kernels.layer_terms", kernels.layer_terms, good, "activation", [("'gelu'", "gelu")])
        vary("kernels.layer_terms", kernels.layer_terms, good, "sigma_w2", [("0", 0.0), ("-1", -1.0), ("nan", NAN)])
        vary("kernels.layer_terms", kernels.layer_terms, good, "sigma_b2", [("-1", -1.0), ("'0'", "0")])
        vary("kernels.layer_terms", kernels.layer_terms, good, "x2", [("(16, 4)", np.ones((16, 4)))], "x1", "x2")
        vary(
            "kernels.layer_terms",
            kernels.layer_terms,
            good,
            "x1",
            [("1-D", x[0]), ("NaN", nan_x.x_train), ("strings", [["a", "b", "c"]]), ("(0, 3)", np.zeros((0, 3)))],
        )
        vary("kernels.nngp_ntk", kernels.nngp_ntk, good, "parametrization", [("'mup'", "mup")])
        vary("kernels.nngp_ntk", kernels.nngp_ntk, good, "depth", [("0", 0)])
        good = dict(x1=x, x2=xt, mlp=mlp)
        vary(
            "kernels.reference_kernels",
            kernels.reference_kernels,
            good,
            "mlp",
            [("depth 2", mlp2), ("'mlp'", "mlp")],
            "mlp",
            "depth",
        )
        vary("kernels.reference_kernels", kernels.reference_kernels, good, "ref_width", [("0", 0), ("OVER", OVER)])
        vary("kernels.reference_kernels", kernels.reference_kernels, good, "ref_lr", [("-1", -1.0), ("nan", NAN)])
        vary(
            "kernels.reference_kernels",
            kernels.reference_kernels,
            good,
            "x1",
            [("(16, 4) for n_in 3", np.ones((16, 4)))],
            "x1",
            "n_in",
        )
        good = dict(x1=x, x2=xt, width=4, depth=1, activation="relu", key=key)
        vary("kernels.mc_kernels", kernels.mc_kernels, good, "width", [("0", 0), ("4.5", 4.5)])
        vary("kernels.mc_kernels", kernels.mc_kernels, good, "width", [("2**20+1", OVER)], huge=True)
        vary("kernels.mc_kernels", kernels.mc_kernels, good, "n_samples", [("0", 0), ("True", True)])
        vary("kernels.mc_kernels", kernels.mc_kernels, good, "key", [("None", None)])
        vary("kernels.mc_kernels", kernels.mc_kernels, good, "parametrization", [("'x'", "x")])
        good = dict(mlp=mlp, params=params, x1=x, x2=xt, lrs=[1.0, 1.0])
        vary(
            "kernels.empirical_ntk",
            kernels.empirical_ntk,
            good,
            "lrs",
            [("one rate", [1.0]), ("NaN", [NAN, 1.0]), ("negative", [-1.0, 1.0])],
        )
        vary("kernels.empirical_ntk", kernels.empirical_ntk, good, "batch_size", [("0", 0), ("1.5", 1.5)])
        vary(
            "kernels.empirical_ntk",
            kernels.empirical_ntk,
            good,
            "x1",
            [("(16, 4) for n_in 3", np.ones((16, 4)))],
            "x1",
            "n_in",
        )
        vary("kernels.empirical_ntk", kernels.empirical_ntk, good, "params", [("None", None), ("depth-2", params2)])
        tt, ttx = jnp.eye(16), jnp.zeros((16, 16))
        y = jnp.asarray(ds.y_train)
        dyn = dict(theta_train=tt, theta_test_train=ttx, f0_train=jnp.zeros(16), f0_test=jnp.zeros(16), y=y)
        vary(
            "kernels.kernel_gd",
            kernels.kernel_gd,
            dyn | dict(n_steps=1),
            "y",
            [("{-1,1}", 2 * y - 1), ("a column", y[:, None])],
        )
        vary("kernels.kernel_gd", kernels.kernel_gd, dyn | dict(n_steps=1), "n_steps", [("-1", -1), ("1.5", 1.5)])
        vary("kernels.kernel_gd", kernels.kernel_gd, dyn | dict(n_steps=1), "loss", [("'hinge'", "hinge")])
        vary(
            "kernels.kernel_gd",
            kernels.kernel_gd,
            dyn | dict(n_steps=1),
            "theta_train",
            [("(15, 15)", jnp.eye(15)), ("NaN", jnp.full((16, 16), np.nan))],
        )
        vary("kernels.kernel_gd", kernels.kernel_gd, dyn | dict(n_steps=1), "f0_train", [("NaN", jnp.full(16, np.nan))])
        vary(
            "kernels.mse_kernel_gd",
            kernels.mse_kernel_gd,
            dyn | dict(steps=[1]),
            "steps",
            [("[1.5]", [1.5]), ("[-1]", [-1]), ("3", 3)],
        )
        vary("kernels.mse_kernel_gd", kernels.mse_kernel_gd, dyn | dict(steps=[1]), "y", [("{-1,1}", 2 * y - 1)])
        vary(
            "kernels.mse_kernel_flow",
            kernels.mse_kernel_flow,
            dyn | dict(times=[1.0]),
            "times",
            [("[nan]", [NAN]), ("[-1]", [-1.0]), ("'a'", "a")],
        )

    if "limits" in wanted:
        good = dict(mlp=mlp, n_particles=8, key=key)
        vary("limits.mf_particles", limits.mf_particles, good, "n_particles", [("0", 0), ("1.5", 1.5), ("True", True)])
        vary("limits.mf_particles", limits.mf_particles, good, "n_particles", [("2**20+1", OVER)], huge=True)
        vary("limits.mf_particles", limits.mf_particles, good, "key", [("None", None)])
        vary("limits.mf_particles", limits.mf_particles, good, "mlp", [("None", None)])
        good = dict(mlp=mlp, data=ds, n_particles=8, key=key, n_steps=1)
        vary("limits.mf_limit", limits.mf_limit, good, "n_steps", [("-1", -1), ("1.5", 1.5)])
        vary(
            "limits.mf_limit",
            limits.mf_limit,
            good,
            "ref_lr",
            [("-1", -1.0), ("nan", NAN), ("'0.02'", "0.02"), ("True", True)],
        )
        vary("limits.mf_limit", limits.mf_limit, good, "loss", [("'hinge'", "hinge")])
        vary("limits.mf_limit", limits.mf_limit, good, "mlp", [("depth 2", mlp2)], "mlp", "depth")
        vary("limits.mf_limit", limits.mf_limit, good, "ref_width", [("0", 0)])
        vary("limits.mf_limit", limits.mf_limit, good, "n_particles", [("0", 0)])
        vary(
            "limits.mf_limit",
            limits.mf_limit,
            good,
            "key",
            [("None (and no particles)", None)],
            "key",
            "particles",
            "n_particles",
        )
        vary("limits.mf_limit", limits.mf_limit, good, "particles", [("'p'", "p")])
        for label, bad, names in bad_data[:6]:
            vary("limits.mf_limit", limits.mf_limit, good, "data", [(label, bad)], "data", *names)
        vary(
            "limits.limit_kernels",
            limits.limit_kernels,
            dict(mlp=mlp, data=ds),
            "mlp",
            [("depth 2", mlp2)],
            "mlp",
            "depth",
        )
        vary(
            "limits.limit_kernels",
            limits.limit_kernels,
            dict(mlp=mlp, data=ds),
            "data",
            [("None", None), ("n_in 4 for mlp.n_in 3", wide)],
            "data",
            "x_train",
            "n_in",
        )
        vary("limits.limit_kernels", limits.limit_kernels, dict(mlp=mlp, data=ds), "ref_width", [("0", 0)])
        k = limits.limit_kernels(mlp, ds)
        good = dict(k=k, key=key, n_samples=2)
        vary("limits.gp_logits", limits.gp_logits, good, "n_samples", [("0", 0), ("1.5", 1.5)])
        vary("limits.gp_logits", limits.gp_logits, good, "jitter", [("-1", -1.0), ("nan", NAN), ("'0'", "0")])
        vary("limits.gp_logits", limits.gp_logits, good, "key", [("None", None)])
        vary("limits.gp_logits", limits.gp_logits, good, "k", [("None", None)])
        good = dict(k=k, data=ds, n_steps=1)
        vary("limits.kernel_limit", limits.kernel_limit, good, "n_steps", [("-1", -1), ("True", True)])
        vary(
            "limits.kernel_limit",
            limits.kernel_limit,
            good,
            "f0",
            [("(5,)", jnp.zeros(5)), ("NaN", jnp.full(32, np.nan))],
        )
        vary("limits.kernel_limit", limits.kernel_limit, good, "ref_lr", [("0", 0.0)])
        vary("limits.kernel_limit", limits.kernel_limit, good, "loss", [("'hinge'", "hinge")])
        vary(
            "limits.kernel_limit",
            limits.kernel_limit,
            good,
            "data",
            [("labels in {-1,1}", pm1), ("8 train points for k of 16", data.toy_2d(8, 24))],
            "data",
            "y_train",
            "k",
        )
        vary(
            "limits.gaussian_kl",
            limits.gaussian_kl,
            dict(mean_p=0.0, var_p=1.0, mean_q=0.0, var_q=1.0),
            "var_p",
            [("-1", -1.0), ("nan", NAN)],
        )
        vary(
            "limits.gaussian_kl",
            limits.gaussian_kl,
            dict(mean_p=0.0, var_p=1.0, mean_q=0.0, var_q=1.0),
            "var_q",
            [("'a'", "a")],
        )
        vary(
            "limits.gaussian_kl",
            limits.gaussian_kl,
            dict(mean_p=np.zeros(2), var_p=1.0, mean_q=np.zeros(2), var_q=1.0),
            "mean_q",
            [("shape (3,) vs (2,)", np.zeros(3))],
            "mean_p",
            "mean_q",
        )
        good = dict(a_p=1.0, b_p=1.0, a_q=1.0, b_q=1.0)
        vary("limits.beta_kl", limits.beta_kl, good, "a_p", [("-1", -1.0), ("'a'", "a"), ("nan", NAN)])
        vary("limits.beta_kl", limits.beta_kl, good, "a_q", [("0", 0.0)])
        lg = np.random.default_rng(0).normal(size=(3, 5))
        good = dict(logits=lg, ref_logits=lg)
        vary(
            "limits.logit_divergences",
            limits.logit_divergences,
            good,
            "logits",
            [("one seed", lg[:1]), ("NaN", np.where(lg > 1, np.nan, lg)), ("strings", [["a"] * 5] * 3)],
        )
        vary(
            "limits.logit_divergences",
            limits.logit_divergences,
            good,
            "ref_logits",
            [("(3, 4) vs (3, 5)", lg[:, :4]), ("1-D", lg[0])],
            "logits",
            "ref_logits",
        )
    return cases, bases


# --------------------------------------------------------------------------------------------- running, reporting


def run(cases: list[Case], *, progress: bool = False) -> list[Result]:
    """Classify every case. Claims checked by the probe are removed from the registry afterwards."""
    before = claims.checked()
    results = []
    try:
        for i, case in enumerate(cases):
            results.append(classify(case))
            if progress and (i + 1) % 50 == 0:
                print(f"  ... {i + 1}/{len(cases)}", file=sys.stderr)
    finally:
        claims.reset()  # the probe's own claims must not appear in a chapter's summary
        getattr(claims, "_REGISTRY", []).extend(before)
    return results


def totals(results: list[Result]) -> dict[str, int]:
    out = {"tried": sum(r.outcome != "skipped" for r in results)}
    out |= {o: sum(r.outcome == o for r in results) for o in (*OUTCOMES, "skipped")}
    return out


def report(results: list[Result]) -> str:
    by_fn: dict[str, list[Result]] = {}
    for r in results:
        by_fn.setdefault(r.case.function, []).append(r)
    width = max(len(f) for f in by_fn) if by_fn else 10
    lines = [f"{'function':<{width}}  tried  clear  opaque  silent"]
    for fn, rs in by_fn.items():
        t = totals(rs)
        lines.append(f"{fn:<{width}}  {t['tried']:5d}  {t['clear']:5d}  {t['opaque']:6d}  {t['silent']:6d}")
    t = totals(results)
    lines.append(
        f"{'TOTAL (' + str(len(by_fn)) + ' functions)':<{width}}  {t['tried']:5d}  {t['clear']:5d}  "
        f"{t['opaque']:6d}  {t['silent']:6d}" + (f"  ({t['skipped']} skipped)" if t["skipped"] else "")
    )
    for outcome in ("opaque", "silent", "skipped"):
        bad = [r for r in results if r.outcome == outcome]
        if bad:
            lines.append(f"\n{outcome.upper()} ({len(bad)}):")
            for r in bad:
                what = f"{r.error}: {r.message}" if r.error else r.message
                lines.append(f"  {r.case.id}  [wants {'/'.join(r.case.names)}]  {what[:160]}")
    return "\n".join(lines)


def run_baseline(bases: list[tuple[str, Callable[[], Any]]]) -> list[str]:
    """The valid calls the cases are derived from; returns the ones that fail (each should be empty)."""
    failures = []
    before = claims.checked()
    for fn, call in bases:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call()
        except Exception as err:
            failures.append(f"{fn}({call.keywords}): {type(err).__name__}: {err}")
    claims.reset()
    getattr(claims, "_REGISTRY", []).extend(before)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="PATH", help="write every result and the totals to PATH")
    parser.add_argument("--module", action="append", choices=MODULES, help="probe only these modules")
    parser.add_argument("--baseline", action="store_true", help="also check that the valid calls succeed")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any case is opaque or silent")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    cases, bases = build_cases(args.module or MODULES)
    if args.baseline:
        failures = run_baseline(bases)
        print(f"baseline: {len(bases) - len(failures)}/{len(bases)} valid calls succeed")
        for f in failures:
            print("  FAILS:", f[:300])
    results = run(cases, progress=True)
    print(report(results))
    t = totals(results)
    seconds = time.perf_counter() - start
    print(f"\n{len(cases)} cases in {seconds:.0f} s; MAX_WIDTH cap present: {hasattr(_validate, 'MAX_WIDTH')}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(totals=t, seconds=seconds, results=[r.as_dict() for r in results]), fh, indent=1)
    return 1 if args.strict and (t["opaque"] or t["silent"]) else 0


if __name__ == "__main__":
    sys.exit(main())
