import pytest

import cnnlib


@pytest.fixture(scope="session")
def reports():
    """Cost reports at each model's default input, counted once per test session."""
    cache: dict[str, cnnlib.CostReport] = {}

    def get(name: str) -> cnnlib.CostReport:
        if name not in cache:
            cache[name] = cnnlib.count_costs(name)
        return cache[name]

    return get
