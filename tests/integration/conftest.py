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
    died = d.proc is not None and d.proc.poll() is not None
    code = d.proc.returncode if died else None
    tail = d.logtail(60) if died else ""
    d.cleanup()
    # A daemon that died under a test module is a failure of its own, even
    # when every test of the module happened to pass before it.
    assert not died, f"berthd exited early with {code}:\n{tail}"


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
