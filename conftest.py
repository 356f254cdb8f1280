"""Test configuration shared by the whole suite: services, the fixture world, browser."""

from schoolbridge.testing.fixtures import *  # noqa: F401,F403
