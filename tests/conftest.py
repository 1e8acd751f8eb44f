"""Test configuration: quick profile, strict JAX, and an isolated cache per test session."""

import os
import tempfile

# Set before anything imports widthlimits; nbmake's notebook kernels inherit this environment.
os.environ.setdefault("WIDTHLIMITS_PROFILE", "quick")
os.environ.setdefault("WIDTHLIMITS_CACHE", tempfile.mkdtemp(prefix="widthlimits-test-cache-"))
# Chapters save their claims records here, never into the book build's _build/claims.
os.environ["WIDTHLIMITS_CLAIMS_DIR"] = tempfile.mkdtemp(prefix="widthlimits-test-claims-")
os.environ.pop("WIDTHLIMITS_LEDGER_STRICT", None)

import jax
import matplotlib.pyplot as plt
import pytest

# Strict in this process only (notebook kernels run with JAX defaults).
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def ax():
    """One Matplotlib axes, closed after the test (for the figure modules' tests)."""
    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


@pytest.fixture
def two_axes():
    """A row of two axes, closed after the test."""
    fig, axes = plt.subplots(1, 2)
    yield axes
    plt.close(fig)
