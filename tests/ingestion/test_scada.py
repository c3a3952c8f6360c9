"""SCADA pollers against the real servers asyncua and pymodbus ship, on free local ports: decoded values, units,
timestamps, per-point problems, and a `run()` loop that survives the server going away and coming back."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import pytest
from asyncua import Server, ua
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from structlog.testing import capture_logs

from turash.ingestion.readings import Reading
from turash.ingestion.scada import (
    ModbusPoint,
    ModbusPoller,
    OpcUaPoint,
    OpcUaPoller,
    PollProblem,
    ScadaUnavailable,
    decode_registers,
    pollers_from_meters,
)
from turash.models import Meter

HOST = "127.0.0.1"
SOURCE_TS = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for `condition` while the event loop runs the poller."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class Collect:
    """A sink that keeps every batch it is handed."""

    def __init__(self) -> None:
        self.batches: list[list[Reading]] = []

    def __call__(self, readings: Sequence[Reading]) -> None:
        self.batches.append(list(readings))

    @property
    def readings(self) -> list[Reading]:
        return [r for batch in self.batches for r in batch]


# --- OPC UA ---------------------------------------------------------------------------------------------------


async def start_opcua(port: int) -> Server:
    """A server whose namespace 2 holds a float (with a device timestamp), an int (without one), a string, a
    boolean and a NaN; node ns=2;i=9999 does not exist."""
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://{HOST}:{port}")
    idx = await server.register_namespace("urn:turash:test")
    assert idx == 2
    plant = await server.nodes.objects.add_object(idx, "Plant")
    flow = await plant.add_variable(ua.NodeId(1001, idx), "Flow", 12.5)
    await flow.write_value(ua.DataValue(ua.Variant(12.5, ua.VariantType.Double), SourceTimestamp=SOURCE_TS))
    count = await plant.add_variable(ua.NodeId(1002, idx), "Counter", ua.Variant(7, ua.VariantType.Int32))
    await count.write_value(ua.DataValue(ua.Variant(7, ua.VariantType.Int32)))  # no SourceTimestamp
    await plant.add_variable(ua.NodeId(1003, idx), "Label", "boiler house")
    await plant.add_variable(ua.NodeId(1004, idx), "Running", True)
    await plant.add_variable(ua.NodeId(1005, idx), "Broken", math.nan)
    await server.start()
    return server


OPCUA_POINTS = [
    OpcUaPoint("steam-flow", "ns=2;i=1001", unit="t/h"),
    OpcUaPoint("counter", "ns=2;i=1002"),
    OpcUaPoint("label", "ns=2;i=1003"),
    OpcUaPoint("running", "ns=2;i=1004"),
    OpcUaPoint("broken", "ns=2;i=1005"),
    OpcUaPoint("ghost", "ns=2;i=9999"),
]


def run_opcua(test: Callable[[Server, int], Awaitable[None]]) -> None:
    async def main() -> None:
        port = free_port()
        server = await start_opcua(port)
        try:
            await test(server, port)
        finally:
            await server.stop()

    asyncio.run(main())


def test_opcua_poll_reads_numbers_and_reports_bad_nodes() -> None:
    async def check(server: Server, port: int) -> None:
        poller = OpcUaPoller(f"opc.tcp://{HOST}:{port}", OPCUA_POINTS, Collect(), timeout_s=3)
        before = datetime.now(UTC)
        try:
            readings = await poller.poll_once()
        finally:
            await poller.close()
        after = datetime.now(UTC)

        by_meter = {r.meter: r for r in readings}
        assert set(by_meter) == {"steam-flow", "counter"}
        flow, counter = by_meter["steam-flow"], by_meter["counter"]
        assert (flow.value, flow.unit, flow.ts) == (12.5, "t/h", SOURCE_TS)  # the device's own time
        assert (counter.value, counter.unit) == (7.0, None)
        assert isinstance(counter.value, float)
        assert counter.ts.tzinfo is not None and counter.ts.utcoffset() == UTC.utcoffset(None)
        assert before <= counter.ts <= after  # no source timestamp: the poll time

        problems = {p.meter: p for p in poller.problems}
        assert set(problems) == {"label", "running", "broken", "ghost"}
        assert "not a number" in problems["label"].reason and "boiler house" in problems["label"].reason
        assert "not a number" in problems["running"].reason
        assert "not finite" in problems["broken"].reason
        assert "BadNodeIdUnknown" in problems["ghost"].reason
        assert problems["ghost"].source == f"opc.tcp://{HOST}:{port} ns=2;i=9999"
        assert poller.last_result is not None and poller.last_result.endpoint == f"opc.tcp://{HOST}:{port}"

    run_opcua(check)


def test_opcua_poll_keeps_one_session_and_sees_new_values() -> None:
    async def check(server: Server, port: int) -> None:
        poller = OpcUaPoller(f"opc.tcp://{HOST}:{port}", OPCUA_POINTS[:1], Collect(), timeout_s=3)
        later = datetime(2024, 1, 1, 12, 5, tzinfo=UTC)
        try:
            first = await poller.poll_once()
            client = poller._client
            flow = server.get_node("ns=2;i=1001")
            await flow.write_value(ua.DataValue(ua.Variant(13.25, ua.VariantType.Double), SourceTimestamp=later))
            second = await poller.poll_once()
            assert poller._client is client is not None  # the session is reused, not reopened per poll
        finally:
            await poller.close()
        assert [(r.value, r.ts) for r in first + second] == [(12.5, SOURCE_TS), (13.25, later)]

    run_opcua(check)


def test_opcua_malformed_node_id_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match=r"meter 'flow'.*not-a-node"):
        OpcUaPoller("opc.tcp://127.0.0.1:4840", [OpcUaPoint("flow", "not-a-node")], Collect())


def test_opcua_poll_raises_unavailable_when_nothing_listens() -> None:
    poller = OpcUaPoller(f"opc.tcp://{HOST}:{free_port()}", OPCUA_POINTS[:1], Collect(), timeout_s=2)
    with pytest.raises(ScadaUnavailable, match="cannot connect"):
        asyncio.run(poller.poll_once())


def test_opcua_run_recovers_after_server_restart() -> None:
    async def main() -> None:
        port = free_port()
        server = await start_opcua(port)
        sink = Collect()
        problems: list[PollProblem] = []
        poller = OpcUaPoller(
            f"opc.tcp://{HOST}:{port}",
            [OPCUA_POINTS[0], OPCUA_POINTS[2]],
            sink,
            interval_s=0.2,
            timeout_s=2,
            problem_sink=problems.extend,
            backoff_initial_s=0.2,
            backoff_max_s=0.4,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run(stop))
        try:
            await until(lambda: len(sink.batches) >= 2)
            assert {p.meter for p in problems} == {"label"}  # the string node, every poll, to the problem sink
            await server.stop()
            await until(lambda: poller.failures >= 1)
            assert f"opc.tcp://{HOST}:{port}" in (poller.last_error or "")
            seen = len(sink.batches)
            server = await start_opcua(port)  # same port, a fresh server
            await until(lambda: len(sink.batches) > seen)
            assert poller.failures == 0 and poller.last_error is None
            assert sink.batches[-1][0].value == 12.5
            assert not task.done()
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=5)
            await server.stop()
        assert poller._client is None  # run() closes its session on the way out

    asyncio.run(main())


# --- Modbus TCP -----------------------------------------------------------------------------------------------

FLOAT64_REGISTERS = AsyncModbusTcpClient.convert_to_registers(-1250.75, AsyncModbusTcpClient.DATATYPE.FLOAT64)
HOLDING = [
    0x422A,  # 0-1: 42.5 as float32, big word order (0x422A0000)
    0x0000,
    0xFFF9,  # 2: -7 as int16
    0xCD15,  # 3-4: 123456789 (0x075BCD15) as uint32, little word order
    0x075B,
    2345,  # 5: uint16, scale 0.1 -> 234.5
    *FLOAT64_REGISTERS,  # 6-9: -1250.75 as float64, encoded by pymodbus itself
    0xFFFE,  # 10-11: -100000 (0xFFFE7960) as int32
    0x7960,
    0x7FC0,  # 12-13: a float32 NaN, the "no data" pattern of many devices
    0x0000,
]
INPUT = [3000]  # input register 0; differs from holding register 0 on purpose


def modbus_server(port: int) -> ModbusTcpServer:
    bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
    device = SimDevice(
        id=1,
        simdata=(
            bits,
            list(bits),
            [SimData(0, values=HOLDING, datatype=DataType.REGISTERS)],
            [SimData(0, values=INPUT, datatype=DataType.REGISTERS)],
        ),
    )
    return ModbusTcpServer(device, address=(HOST, port))


MODBUS_POINTS = [
    ModbusPoint("steam-temp", 0, unit="degC"),
    ModbusPoint("delta", 2, data_type="int16"),
    ModbusPoint("counter", 3, data_type="uint32", word_order="little", unit="kWh"),
    ModbusPoint("flow", 5, data_type="uint16", scale=0.1, unit="m3/h"),
    ModbusPoint("power", 6, data_type="float64", scale=2, unit="kW"),
    ModbusPoint("backlog", 10, data_type="int32"),
    ModbusPoint("pressure", 0, data_type="uint16", register_kind="input", scale=0.001, unit="bar"),
    ModbusPoint("no-data", 12),
    ModbusPoint("nowhere", 500),
]


def test_modbus_poll_decodes_every_data_type() -> None:
    async def main() -> None:
        port = free_port()
        server = modbus_server(port)
        await server.serve_forever(background=True)
        poller = ModbusPoller(HOST, port, MODBUS_POINTS, Collect(), timeout_s=2)
        before = datetime.now(UTC)
        try:
            readings = await poller.poll_once()
        finally:
            await poller.close()
            await server.shutdown()
        after = datetime.now(UTC)

        values = {r.meter: (r.value, r.unit) for r in readings}
        assert values == {
            "steam-temp": (42.5, "degC"),
            "delta": (-7.0, None),
            "counter": (123456789.0, "kWh"),
            "flow": (pytest.approx(234.5), "m3/h"),
            "power": (-2501.5, "kW"),
            "backlog": (-100000.0, None),
            "pressure": (3.0, "bar"),
        }
        for reading in readings:
            assert reading.ts.utcoffset() == UTC.utcoffset(None)
            assert before <= reading.ts <= after
        problems = {p.meter: p for p in poller.problems}
        assert set(problems) == {"no-data", "nowhere"}
        assert "not finite" in problems["no-data"].reason
        assert "exception 2" in problems["nowhere"].reason and "illegal data address" in problems["nowhere"].reason
        assert problems["nowhere"].source == f"{HOST}:{port} device 1 holding 500"

    asyncio.run(main())


def test_modbus_poll_raises_unavailable_when_nothing_listens() -> None:
    poller = ModbusPoller(HOST, free_port(), MODBUS_POINTS[:1], Collect(), timeout_s=1)
    with pytest.raises(ScadaUnavailable, match="cannot connect"):
        asyncio.run(poller.poll_once())


def test_modbus_run_recovers_after_server_restart_and_a_failing_sink() -> None:
    async def main() -> None:
        port = free_port()
        server = modbus_server(port)
        await server.serve_forever(background=True)
        delivered = Collect()
        calls = 0

        async def sink(readings: Sequence[Reading]) -> None:  # async sinks are awaited
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("database is down")  # must not end the loop
            delivered(readings)

        poller = ModbusPoller(
            HOST, port, MODBUS_POINTS[:2], sink, interval_s=0.1, timeout_s=1, backoff_initial_s=0.1, backoff_max_s=0.2
        )
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run(stop))
        try:
            await until(lambda: len(delivered.batches) >= 2)
            assert [r.value for r in delivered.batches[0]] == [42.5, -7.0]
            await server.shutdown()
            await until(lambda: poller.failures >= 1)
            seen = len(delivered.batches)
            server = modbus_server(port)
            await server.serve_forever(background=True)
            await until(lambda: len(delivered.batches) > seen)
            assert poller.failures == 0
            assert [r.value for r in delivered.batches[-1]] == [42.5, -7.0]
            assert not task.done()
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=5)
            await server.shutdown()

    asyncio.run(main())


def test_run_backs_off_exponentially_up_to_the_cap() -> None:
    async def main() -> list[float]:
        poller = ModbusPoller(
            HOST, free_port(), MODBUS_POINTS[:1], Collect(), timeout_s=0.5, backoff_initial_s=0.05, backoff_max_s=0.2
        )
        stop = asyncio.Event()
        with capture_logs() as logs:
            task = asyncio.create_task(poller.run(stop))
            await until(lambda: poller.failures >= 5)
            stop.set()
            await asyncio.wait_for(task, timeout=2)
        return [entry["retry_in_s"] for entry in logs if entry["event"] == "scada.unavailable"]

    delays = asyncio.run(main())
    assert delays[:5] == [0.05, 0.1, 0.2, 0.2, 0.2]


def test_run_stops_promptly_while_backing_off() -> None:
    async def main() -> float:
        poller = OpcUaPoller(f"opc.tcp://{HOST}:{free_port()}", OPCUA_POINTS[:1], Collect(), timeout_s=1)
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run(stop))  # default backoff: waits 1 s after the first failure
        await until(lambda: poller.failures == 1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        stop.set()
        await asyncio.wait_for(task, timeout=2)
        return loop.time() - started

    assert asyncio.run(main()) < 0.5


def test_decode_registers_word_orders() -> None:
    assert decode_registers([0x422A, 0x0000], "float32") == 42.5
    assert decode_registers([0x0000, 0x422A], "float32", "little") == 42.5
    assert decode_registers([0xFFFF], "int16") == -1.0
    assert decode_registers([0xFFFF], "uint16") == 65535.0
    assert decode_registers([0xFFFF, 0xFFFE], "int32", "little") == -65537.0
    with pytest.raises(ValueError, match="needs 2 registers, got 1"):
        decode_registers([1], "float32")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data_type": "float16"}, "data_type 'float16'"),
        ({"data_type": "int16", "count": 2}, "count 2 does not fit int16"),
        ({"address": 70000}, "register 70000"),
        ({"register_kind": "coil"}, "register_kind 'coil'"),
        ({"word_order": "middle"}, "word_order 'middle'"),
        ({"device_id": 300}, "device_id 300"),
    ],
)
def test_modbus_point_refuses_bad_settings(kwargs: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"meter": "m1", "address": 0, **kwargs}
    with pytest.raises(ValueError, match=f"meter 'm1': {message}"):
        ModbusPoint(**settings)  # type: ignore[arg-type]


# --- pollers_from_meters --------------------------------------------------------------------------------------


def meter(name: str, protocol: str, address: str | None, config: dict[str, object] | None = None) -> Meter:
    return Meter(name=name, quantity="flow_rate", unit="m3/h", protocol=protocol, address=address, config=config)


def test_pollers_from_meters_groups_by_endpoint() -> None:
    sink = Collect()
    meters = [
        meter("boiler-flow", "opcua", "opc.tcp://10.0.0.5:4840", {"node_id": "ns=2;i=2"}),
        meter("boiler-temp", "opcua", "opc.tcp://10.0.0.5:4840/", {"node_id": "ns=2;s=Boiler.T", "unit": "degC"}),
        meter("chiller", "OPCUA", "opc.tcp://10.0.0.6:4840", {"node_id": "ns=3;i=7", "interval_s": 30}),
        meter("gas", "modbus", "10.0.1.9:502", {"register": 0, "data_type": "float32", "scale": 0.1, "device_id": 1}),
        meter(
            "water",
            "modbus",
            "10.0.1.9:502",
            {"register": 4, "data_type": "uint32", "word_order": "little", "interval_s": 5},
        ),
        meter("steam", "modbus", "10.0.1.10", {"register": 2, "register_kind": "input", "data_type": "int16"}),
        meter("mqtt-meter", "mqtt", "plant/meters/x"),
        meter("api-meter", "api", None),
    ]
    pollers = pollers_from_meters(meters, sink, interval_s=10)

    opcua = [p for p in pollers if isinstance(p, OpcUaPoller)]
    modbus = [p for p in pollers if isinstance(p, ModbusPoller)]
    assert [(p.endpoint, [pt.meter for pt in p.points], p.interval_s) for p in opcua] == [
        ("opc.tcp://10.0.0.5:4840", ["boiler-flow", "boiler-temp"], 10),
        ("opc.tcp://10.0.0.6:4840", ["chiller"], 30),
    ]
    assert opcua[0].points[1] == OpcUaPoint("boiler-temp", "ns=2;s=Boiler.T", unit="degC")
    assert [(p.host, p.port, [pt.meter for pt in p.points], p.interval_s) for p in modbus] == [
        ("10.0.1.9", 502, ["gas", "water"], 5),  # the shortest interval of the endpoint's meters
        ("10.0.1.10", 502, ["steam"], 10),  # port 502 when left out
    ]
    assert modbus[0].points == [
        ModbusPoint("gas", 0, data_type="float32", scale=0.1, device_id=1),
        ModbusPoint("water", 4, data_type="uint32", word_order="little"),
    ]
    assert modbus[1].points[0].register_kind == "input"
    assert all(p.sink is sink for p in pollers)


@pytest.mark.parametrize(
    ("protocol", "address", "config", "message"),
    [
        ("opcua", "opc.tcp://h:4840", {}, "config key 'node_id' is missing"),
        ("opcua", "opc.tcp://h:4840", {"node_id": "garbage"}, "config key 'node_id' is not an OPC UA node id"),
        ("opcua", "opc.tcp://h:4840", {"node_id": 5}, "config key 'node_id' must be a non-empty string"),
        ("opcua", "http://h:4840", {"node_id": "ns=2;i=2"}, "address 'http://h:4840' is not an opc.tcp://"),
        ("modbus", "h:502", {}, "config key 'register' is missing"),
        ("modbus", "h:502", {"register": "0"}, "config key 'register' must be an integer"),
        ("modbus", "h:502", {"register": 70000}, "config key 'register' must be 0-65535"),
        ("modbus", "h:502", {"register": 0, "data_type": "float16"}, "config key 'data_type' must be one of"),
        ("modbus", "h:502", {"register": 0, "scale": "x"}, "config key 'scale' must be a finite number"),
        ("modbus", "h:502", {"register": 0, "word_order": "mid"}, "config key 'word_order' must be one of"),
        ("modbus", "h:502", {"register": 0, "regster": 1}, "config key 'regster' is not known"),
        ("modbus", "h:502", {"register": 0, "data_type": "int16", "count": 2}, "config key 'count' 2 does not fit"),
        ("modbus", "h:502", {"register": 0, "interval_s": 0}, "config key 'interval_s' must be positive"),
        ("modbus", "h:port", {"register": 0}, "address 'h:port' is not host:port"),
        ("modbus", None, {"register": 0}, "address is missing"),
    ],
)
def test_pollers_from_meters_names_meter_and_key_of_bad_config(
    protocol: str, address: str | None, config: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"meter 'bad-one': {message}"):
        pollers_from_meters(
            [meter("ok", "modbus", "h:502", {"register": 1}), meter("bad-one", protocol, address, config)], Collect()
        )


def test_pollers_from_meters_refuses_mixed_organisations() -> None:
    first = meter("a", "modbus", "h:502", {"register": 0})
    second = meter("b", "modbus", "h:502", {"register": 2})
    first.organization_id, second.organization_id = "org1", "org2"
    with pytest.raises(ValueError, match="2 organisations"):
        pollers_from_meters([first, second], Collect())


def test_poller_from_meters_reads_a_real_device() -> None:
    async def main() -> list[Reading]:
        port = free_port()
        server = modbus_server(port)
        await server.serve_forever(background=True)
        config = {"register": 3, "data_type": "uint32", "word_order": "little", "scale": 0.001, "unit": "MWh"}
        (poller,) = pollers_from_meters([meter("counter", "modbus", f"{HOST}:{port}", config)], Collect())
        try:
            return await poller.poll_once()
        finally:
            await poller.close()
            await server.shutdown()

    (reading,) = asyncio.run(main())
    assert (reading.meter, reading.unit) == ("counter", "MWh")
    assert reading.value == pytest.approx(123456.789)
