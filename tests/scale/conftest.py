"""The scale-out proof's fixtures: its own PostgreSQL and Redis (the faults restart them), the
callback inbox the customers read, and the hook that keeps the full load run (`scale`) out of the
default run: `make test-scale` (pytest -m scale) runs it."""
from __future__ import annotations

import pytest


def pytest_addoption(parser):
    parser.addoption("--scale-load", default="200x10", help="conversations x messages of each full scale-out run "
                     "(tests/scale; make test-scale PYTEST_ARGS='--scale-load 30x6' for a smaller one)")


@pytest.fixture(scope="session")
def full_load(request):
    """(conversations, messages) of each full run: --scale-load, 200 × 10 by default (issue 21)."""
    return tuple(int(n) for n in request.config.getoption("--scale-load", default="200x10").split("x"))


def pytest_collection_modifyitems(config, items):
    if "scale" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="the full load-and-fault run: `make test-scale` (pytest -m scale)")
    for item in items:
        if item.get_closest_marker("scale"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def services():
    """PostgreSQL and Redis of this module's own: a fault restarts them, so no other test shares them."""
    from kefu_rasa.dev.services import start_postgres, start_redis

    postgres = start_postgres()
    if postgres is None:
        pytest.skip("PostgreSQL is not installed (scripts/install_services.sh installs it)")
    redis = start_redis()
    if redis is None:
        postgres.close()
        pytest.skip("Redis is not installed (scripts/install_services.sh installs it)")
    yield postgres, redis
    redis.close()
    postgres.close()


@pytest.fixture(scope="module")
def cluster(trained_model, services, tmp_path_factory):
    """Two of everything (Rasa, action server, console) on PostgreSQL and Redis."""
    from kefu_rasa.dev.scale_cluster import start_cluster
    from kefu_rasa.dev.scale_load import ScaleInbox

    postgres, redis = services
    inbox = ScaleInbox()
    running = start_cluster(trained_model, tmp_path_factory.mktemp("scale"), 2, inbox, postgres=postgres, redis=redis)
    yield running
    running.stop()
    inbox.close()
