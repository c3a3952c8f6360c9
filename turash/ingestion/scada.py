"""SCADA pollers: read meter values from OPC UA servers and Modbus TCP devices on a fixed interval.

Plants rarely push their meter values anywhere; their SCADA systems expose them for polling. A poller owns one
endpoint (an OPC UA server or a Modbus TCP gateway), reads all its configured points per poll and hands the values
to a sink as `Reading`s (in production a function that calls `store_readings`).

What can go wrong is kept apart:
- one point fails (unknown node, bad status, a string where a number belongs, an illegal register): the poll
  still succeeds, the point shows up in `PollResult.problems` with the meter and the reason, for quarantine;
- the endpoint is unreachable: `poll_once` raises `ScadaUnavailable`, and `run` reconnects with exponential
  backoff (1 s doubling to 60 s) instead of dying.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import structlog
from asyncua import ua
from asyncua.client.client import Client as OpcUaClient
from asyncua.ua.uaerrors import UaError
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from turash.ingestion.readings import Reading, ReadingSink
from turash.models import Meter

log = structlog.get_logger(__name__)

ModbusDataType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64"]
RegisterKind = Literal["holding", "input"]
WordOrder = Literal["big", "little"]

# struct format (big-endian) and number of 16-bit registers per data type
_MODBUS_FORMATS: dict[str, tuple[str, int]] = {
    "int16": (">h", 1),
    "uint16": (">H", 1),
    "int32": (">i", 2),
    "uint32": (">I", 2),
    "float32": (">f", 2),
    "float64": (">d", 4),
}
# pymodbus renamed `slave=` to `device_id=` in 3.10; pass whichever the installed version takes.
_DEVICE_KEYWORD = (
    "device_id" if "device_id" in inspect.signature(ModbusClientMixin.read_holding_registers).parameters else "slave"
)
BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 60.0


class ScadaUnavailable(ConnectionError):
    """The endpoint could not be reached or the connection broke: no point was read. `run` backs off and retries."""


@dataclass(frozen=True, slots=True)
class PollProblem:
    """A point that gave no usable value in one poll, with why; meant for the quarantine."""

    meter: str
    source: str  # where the value should have come from: "opc.tcp://host:4840 ns=2;i=2", "host:502 holding 0"
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"meter": self.meter, "source": self.source, "reason": self.reason}


@dataclass(slots=True)
class PollResult:
    """Everything one poll produced: a reading or a problem for every configured point."""

    endpoint: str
    started_at: datetime
    readings: list[Reading] = field(default_factory=list)
    problems: list[PollProblem] = field(default_factory=list)


ProblemSink = Callable[[Sequence[PollProblem]], Any]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


async def _call(sink: Callable[[Any], Any], items: Sequence[Any]) -> None:
    """Call a sink that may be sync or async; a blocking sink should be wrapped with `asyncio.to_thread`."""
    outcome = sink(items)
    if inspect.isawaitable(outcome):
        await outcome


class _Poller:
    """The loop both protocols share: poll, deliver, wait; back off while the endpoint is down."""

    endpoint: str

    def __init__(
        self,
        sink: ReadingSink,
        *,
        interval_s: float,
        timeout_s: float,
        problem_sink: ProblemSink | None,
        backoff_initial_s: float,
        backoff_max_s: float,
    ) -> None:
        if interval_s <= 0 or timeout_s <= 0:
            raise ValueError("interval_s and timeout_s must be positive")
        if not 0 < backoff_initial_s <= backoff_max_s:
            raise ValueError("backoff must satisfy 0 < backoff_initial_s <= backoff_max_s")
        self.sink = sink
        self.problem_sink = problem_sink
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.last_result: PollResult | None = None
        self.failures = 0  # consecutive polls that could not reach the endpoint; 0 while healthy
        self.last_error: str | None = None

    @property
    def problems(self) -> list[PollProblem]:
        """The problems of the last poll (empty before the first one)."""
        return self.last_result.problems if self.last_result else []

    async def poll(self) -> PollResult:
        """Read every point once. Raises `ScadaUnavailable` when the endpoint cannot be reached."""
        result = await self._read(PollResult(endpoint=self.endpoint, started_at=_utcnow()))
        self.last_result = result
        for problem in result.problems:
            log.warning("scada.point_problem", endpoint=self.endpoint, **problem.as_dict())
        return result

    async def poll_once(self) -> list[Reading]:
        """The readings of one poll; the points that failed are in `self.problems`."""
        return (await self.poll()).readings

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every `interval_s` until `stop` is set. Survives outages, bad points and a failing sink."""
        delay = self.backoff_initial_s
        log.info("scada.poller_started", endpoint=self.endpoint, interval_s=self.interval_s)
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    result = await self.poll()
                except Exception as exc:
                    # ScadaUnavailable is the expected case; anything else is a bug or an odd server, but one
                    # bad poll must not end the loop either. Drop the connection so the next try starts clean.
                    if isinstance(exc, ScadaUnavailable):
                        log.warning("scada.unavailable", endpoint=self.endpoint, error=str(exc), retry_in_s=delay)
                    else:
                        log.exception("scada.poll_failed", endpoint=self.endpoint, retry_in_s=delay)
                    self.failures += 1
                    self.last_error = str(exc) or repr(exc)
                    await self.close()
                    if await _wait(stop, delay):
                        break
                    delay = min(delay * 2, self.backoff_max_s)
                    continue
                if self.failures:
                    log.info("scada.recovered", endpoint=self.endpoint, after_failures=self.failures)
                self.failures, self.last_error = 0, None
                delay = self.backoff_initial_s
                await self._deliver(result)
                if await _wait(stop, max(0.0, self.interval_s - (time.monotonic() - started))):
                    break
        finally:
            await self.close()
            log.info("scada.poller_stopped", endpoint=self.endpoint)

    async def _deliver(self, result: PollResult) -> None:
        """Hand readings and problems on; a sink error is logged, never fatal to the loop."""
        if result.readings:
            try:
                await _call(self.sink, result.readings)
            except Exception:
                log.exception("scada.sink_failed", endpoint=self.endpoint, readings=len(result.readings))
        if result.problems and self.problem_sink is not None:
            try:
                await _call(self.problem_sink, result.problems)
            except Exception:
                log.exception("scada.problem_sink_failed", endpoint=self.endpoint, problems=len(result.problems))

    async def _read(self, result: PollResult) -> PollResult:
        raise NotImplementedError

    async def close(self) -> None:
        """Drop the connection; the next poll opens a new one."""
        raise NotImplementedError


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`, waking early when `stop` is set; True means stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


# --- OPC UA ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpcUaPoint:
    """One OPC UA variable read as one meter. `unit` None means the meter's configured unit."""

    meter: str
    node_id: str  # "ns=2;i=2", "ns=3;s=Boiler1.Flow"
    unit: str | None = None


def _parse_node_id(meter: str, node_id: str) -> ua.NodeId:
    try:
        return ua.NodeId.from_string(node_id)
    except (UaError, ValueError, TypeError) as exc:
        raise ValueError(f"meter {meter!r}: node_id {node_id!r} is not an OPC UA node id ({exc})") from exc


class OpcUaPoller(_Poller):
    """Reads all points of one OPC UA server in a single Read request per poll, over one kept-open session."""

    def __init__(
        self,
        endpoint: str,
        points: list[OpcUaPoint],
        sink: ReadingSink,
        interval_s: float = 10.0,
        timeout_s: float = 5.0,
        *,
        problem_sink: ProblemSink | None = None,
        backoff_initial_s: float = BACKOFF_INITIAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        super().__init__(
            sink,
            interval_s=interval_s,
            timeout_s=timeout_s,
            problem_sink=problem_sink,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
        )
        self.endpoint = endpoint
        self.points = list(points)
        # Parsed up front: a malformed node id is a configuration error, not a per-poll problem.
        self._node_ids = [_parse_node_id(p.meter, p.node_id) for p in self.points]
        self._client: OpcUaClient | None = None

    async def _connect(self) -> OpcUaClient:
        if self._client is not None:
            return self._client
        client = OpcUaClient(self.endpoint, timeout=self.timeout_s)
        try:
            await asyncio.wait_for(client.connect(), timeout=self.timeout_s)
        except Exception as exc:  # refused, timeout, security or session errors: all mean "not now"
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise ScadaUnavailable(f"cannot connect to {self.endpoint}: {exc!r}") from exc
        log.info("scada.connected", endpoint=self.endpoint)
        self._client = client
        return client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), timeout=self.timeout_s)

    async def _read(self, result: PollResult) -> PollResult:
        if not self.points:
            return result
        client = await self._connect()
        nodes = [client.get_node(node_id) for node_id in self._node_ids]
        try:
            values = await asyncio.wait_for(client.read_attributes(nodes), timeout=self.timeout_s)
        except Exception as exc:
            await self.close()
            raise ScadaUnavailable(f"read from {self.endpoint} failed: {exc!r}") from exc
        for point, data_value in zip(self.points, values, strict=True):
            value, problem = _opcua_value(data_value)
            if problem is not None:
                source = f"{self.endpoint} {point.node_id}"
                result.problems.append(PollProblem(meter=point.meter, source=source, reason=problem))
                continue
            # The device's own time when the server passes it on; the poll time otherwise.
            ts = _as_utc(data_value.SourceTimestamp) if data_value.SourceTimestamp else _utcnow()
            result.readings.append(Reading(meter=point.meter, ts=ts, value=value, unit=point.unit))
        return result


def _opcua_value(data_value: ua.DataValue) -> tuple[float, str | None]:
    """The value as a float, or the reason it is unusable (bad status, not a number, not finite)."""
    status = data_value.StatusCode
    if status is not None and not status.is_good():
        return math.nan, f"status {status.name}"
    variant = data_value.Value
    raw = variant.Value if variant is not None else None
    # bool is an int in Python, but a switch state is not a meter value
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        kind = variant.VariantType.name if variant is not None else "empty"
        return math.nan, f"value {raw!r} ({kind}) is not a number"
    value = float(raw)
    if not math.isfinite(value):
        return math.nan, f"value {value!r} is not finite"
    return value, None


# --- Modbus TCP -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModbusPoint:
    """One value held in one or more 16-bit registers; value = decoded * scale.

    `count` None (the default) takes the register count from `data_type`; a count that does not match is refused.
    `word_order` "big" puts the most significant register first (Modbus convention); "little" the least
    significant (common on Schneider, Siemens gateways). Bytes within a register are big-endian either way.
    """

    meter: str
    address: int  # 0-based register address, as on the wire
    count: int | None = None
    data_type: ModbusDataType = "float32"
    scale: float = 1.0
    unit: str | None = None
    device_id: int = 1
    register_kind: RegisterKind = "holding"
    word_order: WordOrder = "big"

    def __post_init__(self) -> None:
        if self.data_type not in _MODBUS_FORMATS:
            raise ValueError(
                f"meter {self.meter!r}: data_type {self.data_type!r} is not one of {', '.join(_MODBUS_FORMATS)}"
            )
        registers = _MODBUS_FORMATS[self.data_type][1]
        if self.count is not None and self.count != registers:
            raise ValueError(f"meter {self.meter!r}: count {self.count} does not fit {self.data_type} ({registers})")
        if isinstance(self.address, bool) or not isinstance(self.address, int) or not 0 <= self.address <= 65535:
            raise ValueError(f"meter {self.meter!r}: register {self.address!r} is not an address 0-65535")
        if isinstance(self.device_id, bool) or not isinstance(self.device_id, int) or not 0 <= self.device_id <= 255:
            raise ValueError(f"meter {self.meter!r}: device_id {self.device_id!r} is not 0-255")
        if self.register_kind not in get_args(RegisterKind):
            raise ValueError(f"meter {self.meter!r}: register_kind {self.register_kind!r} is not holding or input")
        if self.word_order not in get_args(WordOrder):
            raise ValueError(f"meter {self.meter!r}: word_order {self.word_order!r} is not big or little")
        if isinstance(self.scale, bool) or not isinstance(self.scale, int | float) or not math.isfinite(self.scale):
            raise ValueError(f"meter {self.meter!r}: scale {self.scale!r} is not a finite number")

    @property
    def register_count(self) -> int:
        return _MODBUS_FORMATS[self.data_type][1]


def decode_registers(registers: Sequence[int], data_type: str, word_order: str = "big") -> float:
    """Decode 16-bit registers into a number. Raises ValueError on a wrong register count."""
    fmt, needed = _MODBUS_FORMATS[data_type]
    if len(registers) != needed:
        raise ValueError(f"{data_type} needs {needed} registers, got {len(registers)}")
    words = list(registers) if word_order == "big" else list(reversed(registers))
    raw = b"".join(struct.pack(">H", word & 0xFFFF) for word in words)
    return float(struct.unpack(fmt, raw)[0])


class ModbusPoller(_Poller):
    """Reads the points of one Modbus TCP endpoint (a device or a gateway to several), one request per point."""

    def __init__(
        self,
        host: str,
        port: int,
        points: list[ModbusPoint],
        sink: ReadingSink,
        interval_s: float = 10.0,
        timeout_s: float = 5.0,
        *,
        problem_sink: ProblemSink | None = None,
        backoff_initial_s: float = BACKOFF_INITIAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        super().__init__(
            sink,
            interval_s=interval_s,
            timeout_s=timeout_s,
            problem_sink=problem_sink,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
        )
        self.host = host
        self.port = port
        self.endpoint = f"{host}:{port}"
        self.points = list(points)
        self._client: AsyncModbusTcpClient | None = None

    async def _connect(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        await self.close()
        # reconnect_delay=0 turns off pymodbus' own reconnecting: `run` owns the backoff.
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0)
        try:
            connected = await asyncio.wait_for(client.connect(), timeout=self.timeout_s + 1)
        except Exception as exc:
            client.close()
            raise ScadaUnavailable(f"cannot connect to {self.endpoint}: {exc!r}") from exc
        if not connected:
            client.close()
            raise ScadaUnavailable(f"cannot connect to {self.endpoint}")
        log.info("scada.connected", endpoint=self.endpoint)
        self._client = client
        return client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _read(self, result: PollResult) -> PollResult:
        if not self.points:
            return result
        client = await self._connect()
        for point in self.points:
            source = f"{self.endpoint} device {point.device_id} {point.register_kind} {point.address}"
            try:
                registers = await self._registers(client, point)
                value = decode_registers(registers, point.data_type, point.word_order) * point.scale
            except (ConnectionException, ModbusIOException, TimeoutError) as exc:
                if not client.connected:  # the link went down mid-poll: the whole poll is void
                    await self.close()
                    raise ScadaUnavailable(f"connection to {self.endpoint} lost: {exc!r}") from exc
                result.problems.append(PollProblem(point.meter, source, f"no answer: {exc!r}"))
                continue
            except (ModbusException, ValueError) as exc:
                result.problems.append(PollProblem(point.meter, source, str(exc)))
                continue
            if not math.isfinite(value):  # devices often flag "no data" with a NaN pattern
                result.problems.append(PollProblem(point.meter, source, f"value {value!r} is not finite"))
                continue
            result.readings.append(Reading(meter=point.meter, ts=_utcnow(), value=value, unit=point.unit))
        return result

    async def _registers(self, client: AsyncModbusTcpClient, point: ModbusPoint) -> list[int]:
        read: Any = client.read_holding_registers if point.register_kind == "holding" else client.read_input_registers
        response = await asyncio.wait_for(
            read(point.address, count=point.register_count, **{_DEVICE_KEYWORD: point.device_id}),
            timeout=self.timeout_s + 1,
        )
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            raise ValueError(f"device answered with Modbus exception {code} ({_EXCEPTION_NAMES.get(code, 'unknown')})")
        return list(response.registers)


_EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target did not respond",
}


# --- from Meter rows ------------------------------------------------------------------------------------------

_OPCUA_KEYS = {"node_id", "unit", "interval_s"}
_MODBUS_KEYS = {
    "register",
    "count",
    "data_type",
    "scale",
    "device_id",
    "register_kind",
    "word_order",
    "unit",
    "interval_s",
}


def _bad(meter: Meter, key: str, problem: str) -> ValueError:
    return ValueError(f"meter {meter.name!r}: config key {key!r} {problem}")


def _check_keys(meter: Meter, config: dict[str, Any], allowed: set[str]) -> None:
    # A typo ("regster") would otherwise fall back to a default and read the wrong value for months.
    for key in config:
        if key not in allowed:
            raise _bad(meter, key, f"is not known; use {', '.join(sorted(allowed))}")


def _int(meter: Meter, config: dict[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if value is None:
        raise _bad(meter, key, "is missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(meter, key, f"must be an integer, not {value!r}")
    return value


def _number(meter: Meter, config: dict[str, Any], key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(meter, key, f"must be a finite number, not {value!r}")
    return float(value)


def _text(meter: Meter, config: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = config.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _bad(meter, key, f"must be a non-empty string, not {value!r}")
    return value.strip() if value is not None else None


def _modbus_endpoint(meter: Meter) -> tuple[str, int]:
    """`host:port` (port 502 when left out; `[::1]:502` for IPv6)."""
    address = (meter.address or "").strip()
    if not address:
        raise ValueError(f"meter {meter.name!r}: address is missing; expected host:port")
    host, port_text = address, "502"
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port_text = rest.removeprefix(":") or "502"
    elif address.count(":") == 1:
        host, _, port_text = address.partition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"meter {meter.name!r}: address {address!r} is not host:port")
    return host, int(port_text)


def _opcua_point(meter: Meter, config: dict[str, Any]) -> OpcUaPoint:
    _check_keys(meter, config, _OPCUA_KEYS)
    node_id = _text(meter, config, "node_id")
    if node_id is None:
        raise _bad(meter, "node_id", "is missing")
    try:
        _parse_node_id(meter.name, node_id)
    except ValueError as exc:
        raise _bad(meter, "node_id", f"is not an OPC UA node id: {node_id!r}") from exc
    return OpcUaPoint(meter=meter.name, node_id=node_id, unit=_text(meter, config, "unit"))


def _modbus_point(meter: Meter, config: dict[str, Any]) -> ModbusPoint:
    _check_keys(meter, config, _MODBUS_KEYS)
    register = _int(meter, config, "register")
    if not 0 <= register <= 65535:
        raise _bad(meter, "register", f"must be 0-65535, not {register}")
    device_id = _int(meter, config, "device_id", 1)
    if not 0 <= device_id <= 255:
        raise _bad(meter, "device_id", f"must be 0-255, not {device_id}")
    choices: dict[str, tuple[str, tuple[str, ...]]] = {  # key: (default, allowed)
        "data_type": ("float32", tuple(_MODBUS_FORMATS)),
        "register_kind": ("holding", get_args(RegisterKind)),
        "word_order": ("big", get_args(WordOrder)),
    }
    chosen: dict[str, Any] = {}
    for key, (default, allowed) in choices.items():
        value = config.get(key, default)
        if value not in allowed:
            raise _bad(meter, key, f"must be one of {', '.join(allowed)}, not {value!r}")
        chosen[key] = value
    count = config.get("count")
    if count is not None:
        count = _int(meter, config, "count")
        if count != _MODBUS_FORMATS[chosen["data_type"]][1]:
            raise _bad(meter, "count", f"{count} does not fit data_type {chosen['data_type']}")
    return ModbusPoint(
        meter=meter.name,
        address=register,
        count=count,
        data_type=chosen["data_type"],
        scale=_number(meter, config, "scale", 1.0),
        unit=_text(meter, config, "unit"),
        device_id=device_id,
        register_kind=chosen["register_kind"],
        word_order=chosen["word_order"],
    )


def pollers_from_meters(
    meters: Iterable[Meter],
    sink: ReadingSink,
    *,
    interval_s: float = 10.0,
    timeout_s: float = 5.0,
    problem_sink: ProblemSink | None = None,
) -> list[OpcUaPoller | ModbusPoller]:
    """One poller per endpoint for the OPC UA and Modbus meters of one organisation; other protocols are skipped.

    OPC UA: `address` "opc.tcp://host:4840", config {"node_id": "ns=2;i=2", "unit"?}.
    Modbus: `address` "host:port", config {"register": 0, "data_type"?, "scale"?, "device_id"?,
    "register_kind"?, "word_order"?, "count"?, "unit"?}. Either may set "interval_s"; an endpoint is polled at
    the shortest interval among its meters. A bad configuration raises ValueError naming the meter and the key.
    The sink gets readings by meter name, which is unique only within an organisation: hence one organisation.
    """
    opcua: dict[str, list[OpcUaPoint]] = {}
    modbus: dict[tuple[str, int], list[ModbusPoint]] = {}
    intervals: dict[object, float] = {}
    organisations: set[str] = set()
    for meter in meters:
        protocol = (meter.protocol or "").strip().lower()
        if protocol not in ("opcua", "modbus"):
            continue
        if meter.organization_id is not None:
            organisations.add(meter.organization_id)
        config = dict(meter.config or {})
        key: object
        if protocol == "opcua":
            endpoint = (meter.address or "").strip().rstrip("/")
            if not endpoint.startswith("opc.tcp://") or len(endpoint) <= len("opc.tcp://"):
                raise ValueError(f"meter {meter.name!r}: address {meter.address!r} is not an opc.tcp:// endpoint")
            opcua.setdefault(endpoint, []).append(_opcua_point(meter, config))
            key = endpoint
        else:
            host_port = _modbus_endpoint(meter)
            modbus.setdefault(host_port, []).append(_modbus_point(meter, config))
            key = host_port
        wanted = _number(meter, config, "interval_s", interval_s)
        if wanted <= 0:
            raise _bad(meter, "interval_s", f"must be positive, not {wanted}")
        intervals[key] = min(intervals.get(key, wanted), wanted)
    if len(organisations) > 1:
        raise ValueError(f"meters of {len(organisations)} organisations given; build pollers per organisation")
    pollers: list[OpcUaPoller | ModbusPoller] = [
        OpcUaPoller(url, points, sink, intervals[url], timeout_s, problem_sink=problem_sink)
        for url, points in opcua.items()
    ]
    pollers.extend(
        ModbusPoller(host, port, points, sink, intervals[(host, port)], timeout_s, problem_sink=problem_sink)
        for (host, port), points in modbus.items()
    )
    return pollers
