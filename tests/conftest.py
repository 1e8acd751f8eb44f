"""Test configuration: quick profile, strict JAX, and an isolated cache per test session."""

import os
import tempfile

# Set before anything imports widthlimits; nbmake's notebook kernels inherit this environment.
os.environ.setdefault("WIDTHLIMITS_PROFILE", "quick")
os.environ.setdefault("WIDTHLIMITS_CACHE", tempfile.mkdtemp(prefix="widthlimits-test-cache-"))

import jax

# Strict in this process only (notebook kernels run with JAX defaults).
jax.config.update("jax_numpy_rank_promotion", "raise")
