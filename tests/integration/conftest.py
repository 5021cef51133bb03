import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from berthtest import Berthd  # noqa: E402


@pytest.fixture(scope="module")
def berthd():
    """One daemon per test module, in its own network namespace."""
    d = Berthd().start()
    yield d
    d.cleanup()


@pytest.fixture
def fresh_berthd():
    """A daemon of the test's own, for tests that restart or kill it."""
    d = Berthd()
    yield d
    d.cleanup()


@pytest.fixture(scope="module")
def busybox(berthd):
    """berthd with busybox:latest imported (needs the image store)."""
    berthd.import_busybox()
    return berthd
