"""Finding and downloading the reference data: a local HTTP server plays the upstream/mirror."""

import hashlib
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from turash.config import Settings
from turash.kit.errors import Unavailable
from turash.reference import datasets, ewc
from turash.reference.datasets import DATASETS, locate


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that serves ../shared/data, as a mirror would."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(SHARED_DATA)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setattr(datasets, "cache_dir", lambda: cache)
    monkeypatch.setattr(datasets, "_checkout_data_dir", lambda: tmp_path / "no-shared")
    monkeypatch.chdir(tmp_path)
    return cache


def test_pinned_hashes_match_the_shared_copies() -> None:
    for dataset in DATASETS.values():
        digest = hashlib.sha256((SHARED_DATA / dataset.filename).read_bytes()).hexdigest()
        assert digest == dataset.sha256, dataset.key


def test_local_copy_is_found_first(tmp_path: Path) -> None:
    assert locate("hotmaps", Settings(data_dir=SHARED_DATA)) == SHARED_DATA / "hotmaps_industrial_database.csv"


def test_download_from_a_mirror_verifies_and_caches(mirror: str, empty_cache: Path) -> None:
    settings = Settings(data_mirror_url=mirror)
    path = locate("ewc", settings, progress=False)
    assert path.parent == empty_cache
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DATASETS["ewc"].sha256
    assert len(ewc.load(path)) == 842
    assert locate("ewc", settings, download=False) == path  # cached: no second download


def test_a_tampered_download_is_refused(mirror: str, empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = DATASETS["chemical_parks"].__class__(**{**DATASETS["chemical_parks"].__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(DATASETS, "chemical_parks", bad)
    with pytest.raises(Unavailable, match="does not match its pinned SHA-256"):
        locate("chemical_parks", Settings(data_mirror_url=mirror), progress=False)


def test_offline_gives_a_clear_message(empty_cache: Path) -> None:
    with pytest.raises(Unavailable) as excinfo:
        locate("hotmaps", Settings(data_mirror_url="http://127.0.0.1:9"), progress=False)
    assert "TURASH_DATA_DIR" in excinfo.value.message


def test_not_available_without_download(empty_cache: Path) -> None:
    with pytest.raises(Unavailable, match="not available locally"):
        locate("hotmaps", Settings(), download=False)


def test_upstream_ewc_module_parses_like_the_csv() -> None:
    """The upstream EWC list is a JavaScript module; our reader of it agrees with the CSV conversion."""
    module = """export const validEwcCodes = [
  {
    code: '010101',
    isHazardous: false,
    entryTypeDesc: 'Absolute non-hazardous',
    chapter:
      'Wastes resulting from exploration, mining, quarrying, and physical and chemical treatment of minerals',
    subChapter: 'Wastes from mineral excavation',
    description: 'Wastes from mineral metalliferous excavation'
  },
  {
    code: '160104',
    isHazardous: true,
    entryTypeDesc: 'Absolute hazardous',
    chapter: 'Wastes not otherwise specified in the list',
    subChapter: "End-of-life vehicles from different means of transport",
    description: 'end-of-life vehicles, incl. the driver\\'s seat'
  }
]
export function isHazardous (code) { return validEwcCodes.filter(({ code }) => code) }
"""
    entries = ewc.parse_js_module(module)
    assert list(entries) == ["010101", "160104"]
    assert entries["160104"].hazardous and entries["160104"].spaced == "16 01 04*"
    assert entries["160104"].description == "end-of-life vehicles, incl. the driver's seat"
    assert entries["010101"] == ewc.ewc_list()["010101"]


def test_ewc_list_counts() -> None:
    entries = ewc.ewc_list()
    assert len(entries) == 842 and sum(e.hazardous for e in entries.values()) == 408
