"""Widgets: memoised frames, live controls, the kernel-free static slider and paths through a grid."""

import itertools
import re

import numpy as np
import pytest

from widthlimits import widgets

GRID = {"slope": (-1.0, -0.5, 0.0, 0.5), "optimizer": ("gd", "rmsprop")}


def make(calls=None):
    def draw(fig, *, slope, optimizer):
        if calls is not None:
            calls.append((slope, optimizer))
        ax = fig.subplots()
        x = np.arange(1, 5)
        ax.plot(x, x**slope, "o-" if optimizer == "gd" else "s--")
        ax.set_title(f"{slope} {optimizer}")

    return widgets.Explorer(draw, GRID, defaults={"slope": 0.0, "optimizer": "gd"}, figsize=(3, 2), dpi=40)


def test_frames_are_png_and_memoised():
    calls = []
    ex = make(calls)
    a = ex.render(slope=0.5, optimizer="gd")
    b = ex.render(slope=0.5, optimizer="gd")
    assert a is b and a.startswith(b"\x89PNG") and calls == [(0.5, "gd")]
    assert ex.render(slope=0.5, optimizer="rmsprop") != a
    assert len(ex.points()) == 8


def test_live_controls_redraw_and_prerender_the_grid():
    calls = []
    ex = make(calls)
    box = ex.live()
    controls, image, status = box.children[0].children, box.children[1], box.children[2]
    assert image.value == ex.render(slope=0.0, optimizer="gd")
    slider, buttons = controls
    slider.value = -1.0
    assert image.value == ex.render(slope=-1.0, optimizer="gd") and "ms" in status.value
    ex._prerender.join(timeout=60)
    assert len(set(calls)) == len(calls) == 8  # every point drawn exactly once
    buttons.value = "rmsprop"
    assert image.value == ex.render(slope=-1.0, optimizer="rmsprop")
    ms = ex.move_ms(ex.points())
    assert len(calls) == 8 and ms.shape == (8,)  # moving to rendered frames draws nothing: a lookup
    print(f"move to a rendered frame: max {ms.max():.3f} ms")  # measured, not asserted (timings flake)


def test_drawn_frame_does_not_wait_for_a_background_render():
    ex = make()
    shown = ex.render(slope=0.0, optimizer="gd")
    with ex._lock:  # as if the background thread were drawing another frame
        assert ex.render(slope=0.0, optimizer="gd") is shown


def test_static_slider_is_self_contained():
    ex = make()
    route = widgets.path(GRID, [{"slope": -1.0, "optimizer": "gd"}, {"slope": 0.5, "optimizer": "gd"}])
    page = ex.static(route, start=1).data
    assert page.count("data:image/png;base64,") == len(route) + 1  # every frame, plus the one shown first
    assert re.search(rf'type="range" min="0" max="{len(route) - 1}" value="1"', page)
    assert "<script>" in page and "http" not in page  # no network, no external scripts
    assert ex.static(route).data != page  # unique element ids per slider


def test_static_plane_holds_every_point_of_the_plane_and_two_sliders():
    drawn = []
    ex = widgets.Explorer(lambda fig, a, b, c: drawn.append((a, b, c)), {"a": (0, 1, 2), "b": (0, 1), "c": ("p", "q")},
                          defaults={"a": 1, "b": 1, "c": "q"})
    page = ex.static_plane("a", "b").data
    assert page.count("data:image/png;base64,") == 3 * 2 + 1 and "6 precomputed frames" in page
    assert sorted(set(drawn)) == [(a, b, "q") for a in (0, 1, 2) for b in (0, 1)]  # c held at its default
    assert len(re.findall(r'type="range"', page)) == 2 and "http" not in page
    assert 'max="2" value="1"' in page and 'max="1" value="1"' in page  # the defaults are shown first
    ex.static_plane("b", "a", fixed={"c": "p"})
    assert ("p" in {c for *_, c in drawn})
    for bad, match in ((lambda: ex.static_plane("a", "a"), "x and y"), (lambda: ex.static_plane("z", "a"), "x must"),
                       (lambda: ex.static_plane("a", "b", fixed={"a": 0}), "fixed")):
        with pytest.raises(ValueError, match=match):
            bad()


def test_path_follows_the_grid_without_repeats():
    grid = {"a": (0, 1, 2, 3), "b": (0, 1, 2)}
    route = widgets.path(grid, [{"a": 0, "b": 0}, {"a": 3, "b": 2}, {"a": 3, "b": 2}, {"a": 3, "b": 0}])
    assert route[0] == {"a": 0, "b": 0} and route[-1] == {"a": 3, "b": 0}
    assert all(p != q for p, q in itertools.pairwise(route))
    steps = [max(abs(p["a"] - q["a"]), abs(p["b"] - q["b"])) for p, q in itertools.pairwise(route)]
    assert steps == [1] * len(steps)


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: widgets.Explorer(None, GRID), "draw"),
        (lambda: widgets.Explorer(lambda fig: None, {}), "grid"),
        (lambda: widgets.Explorer(lambda fig: None, {"a": ()}), "grid"),
        (lambda: widgets.Explorer(lambda fig, a: None, {"a": (1, 2)}, defaults={"a": 3}), "defaults"),
        (lambda: widgets.Explorer(lambda fig, a: None, {"a": (1, 2)}, dpi=0), "dpi"),
        (lambda: make().render(slope=0.25, optimizer="gd"), "slope"),
        (lambda: make().render(slope=0.0), "parameters"),
        (lambda: make().static([]), "path"),
        (lambda: make().static([{"slope": 0.0, "optimizer": "gd"}], start=1), "start"),
        (lambda: widgets.path(GRID, []), "waypoints"),
        (lambda: widgets.path(GRID, [{"slope": 2.0, "optimizer": "gd"}]), "slope"),
    ],
)
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises((TypeError, ValueError), match=parameter):
        call()
