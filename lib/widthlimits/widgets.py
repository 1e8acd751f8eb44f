r"""Parameter sliders over precomputed results: live ipywidgets in a kernel, a static slider in the HTML book.

A chapter describes an interactive figure by two things:

* ``draw(fig, **params)``: draws on an empty :class:`matplotlib.figure.Figure` from data computed *beforehand*
  (a cached :func:`widthlimits.experiments.sweep` over the whole grid, for example). It must only draw on ``fig``
  (no ``pyplot``), so frames can be rendered off screen and in a background thread;
* ``grid``: the values each parameter can take, ``{"q_sigma": (-1.0, -0.75, ...), "optimizer": ("gd", "rmsprop")}``.
  Numeric parameters get a slider, the others toggle buttons.

:class:`Explorer` turns them into

* :meth:`Explorer.live`: ipywidgets controls above an image of the figure. Rendered frames are memoised, and
  the first move starts a background thread that renders every other grid point (nearest first), so a move to
  a rendered frame only swaps bytes. Nothing is pre-rendered unless someone moves a control, so executing a
  notebook headless (nbmake, the book build) costs one frame;
* :meth:`Explorer.static`: a self-contained HTML slider along a path of grid points: the frames are inlined as
  PNG data URIs and a few lines of inline JavaScript swap them. It needs no kernel and no network;
* :meth:`Explorer.static_plane`: the same with two sliders over every point of a plane of two parameters.

**How the two share a page** (the book's convention). The live cell comes first and is tagged
``remove-output``; the static cell follows it. The built HTML has no kernel: saved widget state would show a
slider that cannot redraw (and would need the widget JavaScript from a CDN), so HTML readers get only the
static slider. In Jupyter or Colab both appear: the live controls reach every grid point, the static slider
below them follows the chosen path.

    ex = widgets.Explorer(draw, {"q_sigma": qs, "q_tilde": qt}, defaults={"q_sigma": -1.0, "q_tilde": 1.0})
    ex.live()                      # cell tagged remove-output
    ex.static(widgets.path(...))   # next cell
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import numbers
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from widthlimits import _validate

Params = dict[str, Any]
_SERIAL = itertools.count()  # distinguishes identical static sliders on one page


def _is_number(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _same(a: object, b: object) -> bool:
    """Grid membership: ``==``, except that a boolean only matches a boolean (``True == 1`` must not pick 1)."""
    if isinstance(a, bool | np.bool_) != isinstance(b, bool | np.bool_):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. an array compared with a number has no single truth value
        return False


def _index(values: tuple, value: object) -> int | None:
    return next((i for i, v in enumerate(values) if _same(v, value)), None)


def _check_grid(grid: object) -> dict[str, tuple]:
    """Parameter name (a string) -> a non-empty sequence of distinct values, numbers finite."""
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a mapping of parameter names to sequences of values, got {type(grid).__name__}")
    if not grid:
        raise ValueError("grid must map at least one parameter name to a non-empty sequence of values")
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"grid keys must be parameter names (non-empty strings), got {name!r}")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
            raise TypeError(f"grid[{name!r}] must be a sequence of values, got {type(values).__name__}")
        values = tuple(values)
        if not values:
            raise ValueError(
                f"grid must map every parameter to a non-empty sequence of values; grid[{name!r}] is empty"
            )
        for v in values:
            if _is_number(v) and not np.isfinite(float(v)):
                raise ValueError(f"grid[{name!r}] must hold finite numbers, got {v!r}")
        for i, v in enumerate(values):
            if _index(values, v) != i:
                raise ValueError(f"grid[{name!r}] must hold distinct values, got {v!r} twice")
        out[name] = values
    return out


def _check_point(grid: dict[str, tuple], params: object, what: str) -> tuple:
    """The grid indices of one point; ``params`` must set every parameter to one of its grid values."""
    if not isinstance(params, Mapping):
        raise TypeError(f"{what} must be a mapping of parameter names to values, got {type(params).__name__}")
    if set(params) != set(grid):
        raise ValueError(f"{what} must set exactly the parameters {sorted(grid)}, got {sorted(map(str, params))}")
    index = []
    for name, values in grid.items():
        i = _index(values, params[name])
        if i is None:
            raise ValueError(f"{what}[{name!r}] must be one of {values}, got {params[name]!r}")
        index.append(i)
    return tuple(index)


class Explorer:
    """A figure that depends on a few parameters, each taking values on a finite grid.

    Args:
      draw: ``draw(fig, **params)`` draws the figure for one grid point on an empty ``Figure``.
      grid: parameter name -> the values it can take (non-empty; numbers get a slider, anything else buttons).
      defaults: the point shown first (default: the first value of each parameter).
      figsize: figure size in inches.
      dpi: resolution of the rendered frames (72 keeps a frame near 30-60 KB).
      labels: parameter name -> label shown next to its control and in the static slider's caption.
    """

    def __init__(
        self,
        draw: Callable[..., None],
        grid: Mapping[str, Sequence],
        *,
        defaults: Mapping[str, Any] | None = None,
        figsize: tuple[float, float] = (10.0, 3.4),
        dpi: int = 72,
        labels: Mapping[str, str] | None = None,
    ):
        if not callable(draw):
            raise TypeError(f"draw must be callable as draw(fig, **params), got {draw!r}")
        self.grid = _check_grid(grid)
        if isinstance(figsize, str | bytes) or not isinstance(figsize, Sequence | np.ndarray) or len(figsize) != 2:
            raise TypeError(f"figsize must be (width, height) in inches, got {figsize!r}")
        size = tuple(_validate.real(f"figsize[{i}]", v, low=0, high=100, open_low=True) for i, v in enumerate(figsize))
        self.draw, self.figsize, self.dpi = draw, size, _validate.integer("dpi", dpi, low=10, high=300)
        for what, mapping in (("defaults", defaults), ("labels", labels)):
            if mapping is not None and not isinstance(mapping, Mapping):
                raise TypeError(f"{what} must be a mapping of parameter names, got {type(mapping).__name__}")
            if mapping is not None and set(mapping) - set(self.grid):
                unknown = sorted(map(str, set(mapping) - set(self.grid)))
                raise ValueError(f"{what} must name only grid parameters {sorted(self.grid)}, got unknown {unknown}")
        for name, label in (labels or {}).items():
            if not isinstance(label, str):
                raise TypeError(f"labels[{name!r}] must be a string, got {label!r}")
        self.labels = {name: name for name in self.grid} | dict(labels or {})
        self.defaults = {name: values[0] for name, values in self.grid.items()} | dict(defaults or {})
        self._check(self.defaults, "defaults")
        self._frames: dict[tuple, bytes] = {}
        self._lock = threading.Lock()
        self._prerender: threading.Thread | None = None

    def _check(self, params: Mapping[str, Any], what: str = "params") -> tuple:
        # The memo key is the grid values themselves, so 0 and 0.0 (equal, same hash) share one frame.
        index = _check_point(self.grid, params, what)
        return tuple(values[i] for values, i in zip(self.grid.values(), index))

    def points(self) -> list[Params]:
        """Every grid point, as a parameter dict."""
        return [dict(zip(self.grid, values)) for values in itertools.product(*self.grid.values())]

    def render(self, **params) -> bytes:
        """The PNG of one grid point, drawn once and then memoised (thread-safe)."""
        key = self._check(params)
        frame = self._frames.get(key)  # lock-free fast path: a drawn frame never waits for a background render
        if frame is not None:
            return frame
        with self._lock:
            if key not in self._frames:
                fig = Figure(figsize=self.figsize)
                FigureCanvasAgg(fig)
                self.draw(fig, **params)
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=self.dpi)
                self._frames[key] = buf.getvalue()
            return self._frames[key]

    def _render_all(self, around: Params) -> None:
        """Render every grid point, nearest (in grid steps) to ``around`` first."""
        index = dict(zip(self.grid, _check_point(self.grid, around, "around")))

        def steps(p: Params) -> int:
            return sum(abs(_index(self.grid[n], p[n]) - index[n]) for n in self.grid)

        for p in sorted(self.points(), key=steps):
            self.render(**p)

    def live(self):
        """ipywidgets controls and the figure; a move shows the memoised frame or renders it."""
        import ipywidgets as W

        controls = {}
        for name, values in self.grid.items():
            if all(_is_number(v) for v in values):
                controls[name] = W.SelectionSlider(
                    options=[(f"{v:g}", v) for v in values],
                    value=self.defaults[name],
                    description=self.labels[name],
                    continuous_update=True,
                    style={"description_width": "initial"},
                )
            else:
                controls[name] = W.ToggleButtons(
                    options=[(str(v), v) for v in values], value=self.defaults[name], description=self.labels[name]
                )
        image = W.Image(value=self.render(**self.defaults), format="png")
        status = W.HTML()

        def update(_change=None) -> None:
            params = {name: c.value for name, c in controls.items()}
            start = time.perf_counter()
            image.value = self.render(**params)
            status.value = f"<small>frame shown in {1000 * (time.perf_counter() - start):.0f} ms</small>"
            if self._prerender is None:  # the first move: render the rest of the grid in the background
                self._prerender = threading.Thread(target=self._render_all, args=(params,), daemon=True)
                self._prerender.start()

        for c in controls.values():
            c.observe(update, names="value")
        return W.VBox([W.HBox(list(controls.values())), image, status])

    def move_ms(self, path: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Wall-clock milliseconds to produce each frame along ``path`` (memoised frames cost only a lookup)."""
        path = _check_path(self.grid, path, "path")
        times = []
        for params in path:
            start = time.perf_counter()
            self.render(**params)
            times.append(1000 * (time.perf_counter() - start))
        return np.array(times)

    def _inline(self, points: list[Params]) -> tuple[list[str], list[str], str]:
        """PNG data URIs and captions of ``points``, and an element id unique on the page."""
        frames = ["data:image/png;base64," + base64.b64encode(self.render(**p)).decode() for p in points]
        captions = [", ".join(f"{self.labels[n]} = {_fmt(v)}" for n, v in p.items()) for p in points]
        uid = "wl" + hashlib.sha256(json.dumps([captions, next(_SERIAL)]).encode()).hexdigest()[:12]
        return frames, captions, uid

    @staticmethod
    def _page(uid: str, frames: list[str], captions: list[str], start: int, sliders: str, script: str):
        from IPython.display import HTML

        return HTML(
            f'<div id="{uid}" style="max-width:100%">'
            f'<img id="{uid}-i" src="{frames[start]}" style="max-width:100%" alt="{html.escape(captions[start])}"/>'
            f'<div style="display:flex;align-items:center;flex-wrap:wrap;gap:1em;font-size:0.9em">{sliders}'
            f'<span id="{uid}-t">{html.escape(captions[start])}</span></div>'
            f"<script>(function(){{var f={json.dumps(frames)},c={json.dumps(captions)};"
            f"var i=document.getElementById('{uid}-i'),t=document.getElementById('{uid}-t');{script}}})();</script>"
            "</div>"
        )

    def static(self, path: Sequence[Mapping[str, Any]], *, start: int = 0):
        """A self-contained HTML slider over the frames of ``path`` (grid points), for pages without a kernel."""
        path = _check_path(self.grid, path, "path")
        start = _validate.integer("start", start, low=0, high=len(path) - 1)
        frames, captions, uid = self._inline(path)
        slider = (f'<input id="{uid}-r" data-wl="{uid}" type="range" min="0" max="{len(path) - 1}" value="{start}" '
                  f'step="1" style="flex:0 0 45%" aria-label="frame"/>')
        script = ("var r=document.getElementById('" + uid + "-r');"
                  "r.oninput=function(){i.src=f[r.value];t.textContent=c[r.value];};")
        return self._page(uid, frames, captions, start, slider, script)

    def static_plane(self, x: str, y: str, *, fixed: Mapping[str, Any] | None = None):
        """A self-contained HTML figure with two sliders, one per parameter, over *every* grid point of the
        ``x``-``y`` plane (the other parameters held at ``fixed``, by default at their defaults): it holds
        ``len(grid[x]) * len(grid[y])`` precomputed frames, and says so under the sliders."""
        for what, name in (("x", x), ("y", y)):
            if name not in self.grid:
                raise ValueError(f"{what} must be one of the grid's parameters {list(self.grid)}, got {name!r}")
        if x == y:
            raise ValueError(f"x and y must be two different parameters, got {x!r} twice")
        others = {n: self.defaults[n] for n in self.grid if n not in (x, y)}
        fixed = dict(fixed or {})
        if not set(fixed) <= set(others):
            raise ValueError(f"fixed may set only the other parameters {sorted(others)}, got {sorted(map(str, fixed))}")
        others.update(fixed)
        nx, ny = len(self.grid[x]), len(self.grid[y])
        points = _check_path(self.grid, [{**others, x: vx, y: vy} for vy in self.grid[y] for vx in self.grid[x]],
                             "the plane's points")
        ix, iy = _index(self.grid[x], self.defaults[x]), _index(self.grid[y], self.defaults[y])
        frames, captions, uid = self._inline(points)
        sliders = "".join(
            f'<label style="flex:0 0 30%">{html.escape(self.labels[n])} <input id="{uid}-{a}" data-wl="{uid}" '
            f'type="range" min="0" max="{m - 1}" value="{k}" step="1" style="width:70%" '
            f'aria-label="{html.escape(self.labels[n])}"/></label>'
            for a, n, m, k in (("x", x, nx, ix), ("y", y, ny, iy))
        )
        sliders += f"<small>{len(points)} precomputed frames</small>"
        script = (f"var x=document.getElementById('{uid}-x'),y=document.getElementById('{uid}-y');"
                  f"x.oninput=y.oninput=function(){{var k=Number(y.value)*{nx}+Number(x.value);"
                  "i.src=f[k];t.textContent=c[k];};")
        return self._page(uid, frames, captions, iy * nx + ix, sliders, script)


def _check_path(grid: dict[str, tuple], points: object, what: str) -> list[Params]:
    """A non-empty sequence (or other iterable) of grid points (mappings), each checked against ``grid``."""
    if isinstance(points, str | bytes | Mapping) or not isinstance(points, Iterable):
        raise TypeError(f"{what} must be a sequence of grid points (dicts), got {type(points).__name__}")
    points = list(points)
    if not points:
        raise ValueError(f"{what} must hold at least one grid point")
    for i, p in enumerate(points):
        _check_point(grid, p, f"{what}[{i}]")
    return [dict(p) for p in points]


def _fmt(v: Any) -> str:
    return f"{v:g}" if _is_number(v) else str(v)


def path(grid: Mapping[str, Sequence], waypoints: Sequence[Mapping[str, Any]]) -> list[Params]:
    """Grid points along straight lines (in grid-index space) through ``waypoints``, without repeats.

    Consecutive waypoints are joined by the points of the grid nearest to the segment between them, one grid
    step at a time along the parameter that changes most: a 1-D route through a 2-D plane for :meth:`static`.
    Non-numeric parameters must be constant between consecutive waypoints or change in one jump.
    """
    grid = _check_grid(grid)
    idx = [
        np.array(_check_point(grid, w, f"waypoints[{i}]"))
        for i, w in enumerate(_check_path(grid, waypoints, "waypoints"))
    ]
    out = [idx[0]]
    for a, b in itertools.pairwise(idx):
        n = int(np.abs(b - a).max())
        out += [np.rint(a + (b - a) * k / n).astype(int) for k in range(1, n + 1)]
    points = []
    for i in out:
        p = {name: grid[name][int(k)] for name, k in zip(grid, i)}
        if not points or p != points[-1]:
            points.append(p)
    return points
