"""The configuration reference: docs/configuration.md is exactly what the generator prints from Settings."""

import re
from pathlib import Path

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from turash.config import Settings
from turash.kit import configref
from turash.kit.configref import OTHER_VARIABLES, REGENERATE, render_reference

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


def test_docs_configuration_md_is_the_generated_reference() -> None:
    assert DOC.is_file(), f"docs/configuration.md is missing: run `{REGENERATE}`"
    assert DOC.read_text(encoding="utf-8") == render_reference(), (
        f"docs/configuration.md is stale (Settings changed): run `{REGENERATE}`"
    )


def test_every_setting_has_a_row_with_its_description() -> None:
    rows = {line.split("|")[1].strip(" `"): line for line in render_reference().splitlines() if line.startswith("| `")}
    for name, info in Settings.model_fields.items():
        variable = f"TURASH_{name.upper()}"
        assert variable in rows, variable
        assert info.description, f"{name} has no description (Field(description=...))"
        first_words = " ".join(info.description.split())[:30].replace("|", "\\|")
        assert first_words in rows[variable], variable


def test_rows_show_type_constraints_and_defaults() -> None:
    class Demo(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="DEMO_")

        url: str | None = Field(None, description="Where | it is.")
        size: int = Field(5, ge=1, le=9, description="How many.")
        mode: str = Field("a", pattern="^(a|b)$", description="Mode.")
        flags: list[str] = Field(default_factory=list, description="Flags.")
        on: bool = Field(False, description="Switch.")
        key: str = Field("", description="Secret.")

    text = render_reference(Demo)
    assert f"`{Demo.__module__}.{Demo.__qualname__}`" in text.splitlines()[2]
    assert "| `DEMO_URL` | `str \\| None` | unset | Where \\| it is. |" in text
    assert "| `DEMO_SIZE` | `int`, ≥ 1, ≤ 9 | `5` | How many. |" in text
    assert "| `DEMO_MODE` | `str`, pattern `^(a\\|b)$` | `a` | Mode. |" in text
    assert "| `DEMO_FLAGS` | `list[str]` | `[]` | Flags. |" in text
    assert "| `DEMO_ON` | `bool` | `false` | Switch. |" in text
    assert "| `DEMO_KEY` | `str` | empty | Secret. |" in text
    assert "## Other variables" not in text  # only for turash.config.Settings


def test_variables_read_outside_settings_are_listed() -> None:
    """A `TURASH_*` read with os.environ or a CLI envvar (not through Settings) is in the reference's second table."""
    pattern = re.compile(r"""(?:environ(?:\.get)?\(|environ\[|getenv\(|envvar=)\s*["'](TURASH_[A-Z0-9_]+)["']""")
    sources = [*(ROOT / "turash").rglob("*.py"), ROOT / "tests" / "conftest.py"]
    read = {m.group(1) for path in sources for m in pattern.finditer(path.read_text(encoding="utf-8"))}
    assert {"TURASH_DEBUG", "TURASH_PASSWORD"} <= read  # the scan finds what it should
    settings = {f"TURASH_{name.upper()}" for name in Settings.model_fields}
    listed = {name for name, _ in OTHER_VARIABLES}
    assert read - settings <= listed, sorted(read - settings - listed)
    assert listed <= read, f"listed but never read: {sorted(listed - read)}"


def test_main_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    configref.main()
    assert capsys.readouterr().out == render_reference()
