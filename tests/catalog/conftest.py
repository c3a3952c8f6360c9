from __future__ import annotations

import pytest

from turash.catalog import Catalog, get_catalog


@pytest.fixture(scope="session")
def cat() -> Catalog:
    return get_catalog()
