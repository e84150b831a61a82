from pathlib import Path

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


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The book built once per session (warnings are errors): its ``_build/html`` folder."""
    from book_build import build_book

    out = tmp_path_factory.mktemp("book")
    result = build_book(out)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out / "_build" / "html"
