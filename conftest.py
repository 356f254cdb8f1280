"""Test configuration shared by the whole suite: services, the fixture world, browser."""

from schoolbridge.testing.fixtures import *  # noqa: F401,F403
from schoolbridge.testing.fixtures import _fast_and_isolated  # noqa: F401  (not exported by *)
