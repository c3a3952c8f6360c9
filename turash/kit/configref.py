"""The configuration reference (docs/configuration.md), generated from the settings class itself.

`python -m turash.kit.configref > docs/configuration.md` regenerates it; a test compares the file with
`render_reference()`, so the document cannot drift from `turash.config.Settings`.
"""

from __future__ import annotations

import json
import sys
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from turash.config import Settings

REGENERATE = "python -m turash.kit.configref > docs/configuration.md"

# Variables read with os.environ or a CLI option's envvar instead of through Settings; not settings of a deployment.
OTHER_VARIABLES: tuple[tuple[str, str], ...] = (
    ("TURASH_PASSWORD", "`turash users create`: the new user's password, instead of `--password` or the prompt."),
    ("TURASH_DEBUG", "Any value: the `turash` command shows the traceback of an internal error instead of a summary."),
    (
        "TURASH_NO_NUMBA",
        "Any value: run the matching kernels as plain Python instead of compiling them with numba (much slower).",
    ),
    (
        "TURASH_TEST_DATABASE_URL",
        "Tests only: a PostgreSQL+PostGIS URL; every database test runs a second time on it.",
    ),
    ("TURASH_REQUIRE_SERVICES", "Tests only: `1` makes an unreachable Redis, NATS, MQTT or PostgreSQL a failure."),
)

_BOUNDS = (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"), ("min_length", "length ≥"), ("max_length", "length ≤"))


def env_name(settings_cls: type[BaseSettings], field_name: str) -> str:
    """The environment variable of a field: the class's prefix (TURASH_) and the upper-case field name."""
    prefix = str(settings_cls.model_config.get("env_prefix") or "")
    return f"{prefix}{field_name}".upper()


def type_name(annotation: Any) -> str:
    """`int`, `str | None`, `list[str]`, `Path | None`: the annotation as it reads in the source."""
    if annotation is None or annotation is type(None):
        return "None"
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return " | ".join(type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin is not None:
        inner = ", ".join(type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return str(getattr(annotation, "__name__", annotation))


def constraints(info: FieldInfo) -> list[str]:
    """Bounds and patterns pydantic enforces on the field, e.g. `≥ 1`, `≤ 1440`, `pattern ^(a|b)$`."""
    found: list[str] = []
    for item in info.metadata:
        for attr, symbol in _BOUNDS:
            value = getattr(item, attr, None)
            if value is not None:
                found.append(f"{symbol} {value}")
        pattern = getattr(item, "pattern", None)
        if pattern is not None:
            found.append(f"pattern `{pattern}`")
    return found


def env_value(value: Any) -> str:
    """A default written as it would be set in the environment: booleans `true`/`false`, lists as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value)
    return str(value)  # paths as written, e.g. var/mail


def default_text(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    if default is None:
        return "unset"
    if default == "":
        return "empty"
    return f"`{env_value(default)}`"


def _cell(text: str) -> str:
    """Table-safe Markdown: one line, pipes escaped (GitHub reads `\\|` as `|` inside code spans too)."""
    return " ".join(text.split()).replace("|", "\\|")


def render_reference(settings_cls: type[BaseSettings] = Settings) -> str:
    """The configuration reference in Markdown: one row per field of `settings_cls`, in declaration order."""
    env_file = settings_cls.model_config.get("env_file")
    lines = [
        "# Configuration reference",
        "",
        f"Generated from `{settings_cls.__module__}.{settings_cls.__qualname__}` by `{REGENERATE}`; "
        "do not edit by hand (a test compares this file with the generator's output).",
        "",
        "Every setting is an environment variable"
        + (f" or a line in `{env_file}` in the working directory" if env_file else "")
        + ". Unset means the embedded default: SQLite file, in-process cache and event bus.",
        "",
        "Any setting can instead be read from a file (a Docker or Kubernetes secret): `TURASH_<NAME>_FILE=/path` "
        "sets `TURASH_<NAME>` to the file's content, e.g. `TURASH_DATABASE_URL_FILE=/run/secrets/database_url`. "
        "A variable set directly wins over its file; a file that cannot be read stops the start with an error "
        "naming the variable and the path.",
        "",
        "| variable | type | default | description |",
        "|---|---|---|---|",
    ]
    for name, info in settings_cls.model_fields.items():
        kind = f"`{type_name(info.annotation)}`"
        bounds = constraints(info)
        if bounds:
            kind += ", " + ", ".join(bounds)
        lines.append(
            f"| `{env_name(settings_cls, name)}` | {_cell(kind)} | {_cell(default_text(info))} "
            f"| {_cell(info.description or '')} |"
        )
    if settings_cls is Settings:
        lines += [
            "",
            "## Other variables",
            "",
            "Read directly from the environment (or by one CLI option), not through the settings class; "
            "not needed by a deployment.",
            "",
            "| variable | meaning |",
            "|---|---|",
            *(f"| `{name}` | {_cell(meaning)} |" for name, meaning in OTHER_VARIABLES),
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(render_reference())


if __name__ == "__main__":
    main()
