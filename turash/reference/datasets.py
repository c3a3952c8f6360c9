"""Where the reference data files come from, and how the platform finds them.

Order: `TURASH_DATA_DIR`; else `../shared/data` beside the checkout (development and CI); else the user cache
folder, filled on first use by downloading from the upstream source (pooch, pinned SHA-256, progress bar). Upstream
addresses are pinned to a commit so the hash stays valid. `TURASH_DATA_MIRROR_URL` replaces them with a mirror that
serves the files under their local names (offline sites, tests). The files are never committed to this repository.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pooch
import requests

from turash.config import Settings, get_settings
from turash.kit.errors import Unavailable

_GH = "https://raw.githubusercontent.com"
_CARBONNEXT = f"{_GH}/carbonnext-eu/carbonnext-eu.github.io/145bd85d9976702ff9a79fc00b20a48761be45c9"


@dataclass(frozen=True)
class Dataset:
    key: str
    filename: str  # local name (as in ../shared/data and on mirrors)
    sha256: str  # of the local-format file
    upstream_url: str
    upstream_sha256: str  # of the upstream file (differs when the upstream format is converted)
    upstream_filename: str
    title: str
    licence: str
    attribution: str


DATASETS: dict[str, Dataset] = {
    d.key: d
    for d in (
        Dataset(
            key="hotmaps",
            filename="hotmaps_industrial_database.csv",
            sha256="9958bfe7e9598f64d4cc4b27e074df7ccaa928b1c877a5dcbacf7ca82122795e",
            upstream_url=f"{_GH}/dav22297/Excess_heat_standalone/7f26439b3d14a4df87585d4aec636156ba6def4b/"
            "data/Industrial_Database.csv",
            upstream_sha256="9958bfe7e9598f64d4cc4b27e074df7ccaa928b1c877a5dcbacf7ca82122795e",
            upstream_filename="hotmaps_industrial_database.csv",
            title="Hotmaps Industrial Database",
            licence="CC BY 4.0",
            attribution="Hotmaps Industrial Database, Fraunhofer ISI (P. Manz, T. Fleiter), 2016-2018, "
            "gitlab.com/hotmaps/industrial_sites, CC BY 4.0",
        ),
        Dataset(
            key="eprtr_co2",
            filename="eprtr2014_co2_emitters_carbonnext.csv",
            sha256="fe52378170bc39461d8b962bcabd9972a61036297f8bb49c74660d020070f96d",
            upstream_url=f"{_CARBONNEXT}/CO2.csv",
            upstream_sha256="fe52378170bc39461d8b962bcabd9972a61036297f8bb49c74660d020070f96d",
            upstream_filename="eprtr2014_co2_emitters_carbonnext.csv",
            title="E-PRTR 2014 CO2 emitters",
            licence="EEA data, reuse with attribution",
            attribution="European Pollutant Release and Transfer Register (E-PRTR), European Environment Agency; "
            "extract by the CarbonNext project (github.com/carbonnext-eu)",
        ),
        Dataset(
            key="eprtr_co",
            filename="eprtr_co_emitters_carbonnext.csv",
            sha256="58b0444b03798f585b0f1800c63a2039d5eb5b987a9596f6c9aaacfca79cd7a4",
            upstream_url=f"{_CARBONNEXT}/CO.csv",
            upstream_sha256="58b0444b03798f585b0f1800c63a2039d5eb5b987a9596f6c9aaacfca79cd7a4",
            upstream_filename="eprtr_co_emitters_carbonnext.csv",
            title="E-PRTR CO emitters 2001-2014",
            licence="EEA data, reuse with attribution",
            attribution="European Pollutant Release and Transfer Register (E-PRTR), European Environment Agency; "
            "extract by the CarbonNext project (github.com/carbonnext-eu)",
        ),
        Dataset(
            key="chemical_parks",
            filename="eu_chemical_parks_carbonnext.csv",
            sha256="f020148d07e04b91e377b0c845b824d2c2c3b58ffa950c0c1154be6c7a926f85",
            upstream_url=f"{_GH}/carbonnext-eu/carbonnext-eu.github.io/8eff0383936c093d68c229dbd2f0eb1b1bc354f3/"
            "chemicalparks.csv",
            upstream_sha256="f020148d07e04b91e377b0c845b824d2c2c3b58ffa950c0c1154be6c7a926f85",
            upstream_filename="eu_chemical_parks_carbonnext.csv",
            title="European chemical parks",
            licence="reuse with attribution",
            attribution="European chemical parks, CarbonNext project (github.com/carbonnext-eu)",
        ),
        Dataset(
            key="ewc",
            filename="ewc_list_of_waste_defra.csv",
            sha256="bdf23106830f7dc16b30a04002ea65c1ac6045c1663732834cd3c8594ff4dbae",
            # The upstream is a JavaScript module holding the list; turash.reference.ewc reads either format.
            upstream_url=f"{_GH}/DEFRA/waste-movement-external-api/3a8ef7639d5758b67a519d67ac88b8300308d526/"
            "src/common/constants/ewc-codes.js",
            upstream_sha256="e6caa3cef95c6a669d777afc5f6d64421cd00e42f5151f93aa60c80289824ebf",
            upstream_filename="ewc-codes.js",
            title="European List of Waste (EWC codes)",
            licence="Open Government Licence v3.0",
            attribution="List of Waste (Commission Decision 2000/532/EC) as published by DEFRA "
            "(github.com/DEFRA/waste-movement-external-api), Open Government Licence v3.0",
        ),
    )
}


def _checkout_data_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def candidate_dirs(settings: Settings) -> list[Path]:
    dirs = []
    if settings.data_dir is not None:
        dirs.append(settings.data_dir)
    dirs += [_checkout_data_dir(), Path.cwd().parent / "shared" / "data"]
    return dirs


def cache_dir() -> Path:
    return Path(pooch.os_cache("turash"))


class _RichProgress:
    """The progress-bar object pooch's HTTPDownloader drives (total, update, reset, close), drawn with rich."""

    def __init__(self, description: str) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        )
        self._task = self._progress.add_task(description, total=None)
        self._progress.start()
        self.total: Any = None

    def update(self, n: int) -> None:
        self._progress.update(self._task, advance=n, total=self.total)

    def reset(self) -> None:
        self._progress.reset(self._task, total=self.total)

    def close(self) -> None:
        self._progress.stop()


def locate(key: str, settings: Settings | None = None, *, download: bool = True, progress: bool = True) -> Path:
    """Path of a dataset file: local copy if present, else downloaded (verified against its pinned hash)."""
    settings = settings or get_settings()
    dataset = DATASETS[key]
    for folder in candidate_dirs(settings):
        path = folder / dataset.filename
        if path.is_file():
            return path
    cached = cache_dir()
    for name in (dataset.filename, dataset.upstream_filename):
        if (cached / name).is_file():
            return cached / name
    if not download:
        raise Unavailable(
            f"{dataset.title} ({dataset.filename}) is not available locally",
            details={"looked_in": [str(d) for d in candidate_dirs(settings)] + [str(cached)]},
        )
    return fetch(dataset, settings, progress=progress)


def fetch(
    dataset: Dataset, settings: Settings, *, progress: bool = True, make_progress: Callable[[str], Any] = _RichProgress
) -> Path:
    if settings.data_mirror_url:
        url = settings.data_mirror_url.rstrip("/") + "/" + dataset.filename
        name, digest = dataset.filename, dataset.sha256
    else:
        url, name, digest = dataset.upstream_url, dataset.upstream_filename, dataset.upstream_sha256
    downloader = pooch.HTTPDownloader(
        progressbar=make_progress(f"Downloading {dataset.title}") if progress else False, timeout=60
    )
    try:
        path = pooch.retrieve(url, known_hash=f"sha256:{digest}", fname=name, path=cache_dir(), downloader=downloader)
    except requests.exceptions.RequestException as exc:
        raise Unavailable(
            f"cannot download {dataset.title} from {url} ({type(exc).__name__}). If this machine is offline, put "
            f"{dataset.filename} in a folder and set TURASH_DATA_DIR to it, or set TURASH_DATA_MIRROR_URL.",
            details={"url": url},
        ) from exc
    except ValueError as exc:  # pooch: hash mismatch
        raise Unavailable(
            f"downloaded {dataset.title} does not match its pinned SHA-256; refusing to use it: {exc}",
            details={"url": url},
        ) from exc
    return Path(path)


def attribution_for(source_ref: str | None) -> str | None:
    """Attribution text for a record imported from a register; `source_ref` is `<dataset key>:<record id>`."""
    if not source_ref:
        return None
    dataset = DATASETS.get(source_ref.split(":", 1)[0])
    return dataset.attribution if dataset else None
