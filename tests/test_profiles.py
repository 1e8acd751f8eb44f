import pytest

from widthlimits import profiles


def test_quick_profile_is_selected_for_tests():
    assert profiles.current().name == "quick"


@pytest.mark.parametrize("name", ["quick", "book", "paper"])
def test_profiles_include_reference_width(name, monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, name)
    p = profiles.current()
    assert p.name == name and 128 in p.widths and p.n_seeds >= 1
    assert p.pick(quick=1, book=2, paper=3) == {"quick": 1, "book": 2, "paper": 3}[name]


def test_paper_profile_matches_figure_1_settings():
    p = profiles.get("paper")
    assert p.widths == tuple(2**k for k in range(7, 17)) and p.n_seeds == 5 and p.n_steps == 50 and p.n_train == 1000


def test_unknown_profile_names_the_variable(monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, "huge")
    with pytest.raises(ValueError, match=r"WIDTHLIMITS_PROFILE.*quick"):
        profiles.current()
