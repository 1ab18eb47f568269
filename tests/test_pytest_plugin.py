"""The pytest plugin (`trio_gemini_live.pytest_plugin`), as a user's test suite meets it.

Each test writes a small test suite and runs it in a pytest subprocess (pytester), bounded by a
timeout: under pytest-trio, under anyio's trio backend, on asyncio (a clear error, not a hang),
with the configuration overridden, and registered through the `pytest11` entry point.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import trio_gemini_live

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "trio_gemini_live.pytest_plugin"
# Seconds a subprocess run may take: a fixture that never shuts down hangs, not fails.
TIMEOUT = 60

# What every generated test module starts with: an app turn against the emulator.
PRELUDE = """
import pytest
import trio
import trio.testing

from trio_gemini_live import OutputTranscription, TurnComplete, live_setup
from trio_gemini_live.emulator import Emulator, EmulatorConfig

SETUP = live_setup(
    "gemini-2.5-flash-native-audio-preview-12-2025", output_transcription=True
)


async def turn(session, text):
    await session.send_text(text)
    heard = ""
    async for event in session:
        if isinstance(event, OutputTranscription):
            heard += event.text
        elif isinstance(event, TurnComplete):
            return heard
"""


def module(body: str) -> str:
    return PRELUDE + textwrap.dedent(body)


def run(
    pytester: pytest.Pytester, *args: str, plugin: bool = True, fresh_process: bool = False
) -> pytest.RunResult:
    """Run pytest on the files written, with the plugin loaded by `-p` (a source checkout has
    no entry point installed; where one is, the two must not clash).

    In this process by default (fast); in a subprocess bounded by `TIMEOUT` where a failure
    may be a hang, or where the process must be fresh (entry points, modules imported).
    """
    load = ["-p", PLUGIN] if plugin else []
    if fresh_process:
        return pytester.runpytest_subprocess(
            *load, "-p", "no:cacheprovider", *args, timeout=TIMEOUT
        )
    return pytester.runpytest_inprocess(*load, "-p", "no:cacheprovider", *args)


APP_TESTS = """
async def test_the_fixtures(gemini_emulator, gemini_emulator_config):
    assert isinstance(gemini_emulator, Emulator)
    assert gemini_emulator.config is gemini_emulator_config
    assert gemini_emulator_config == EmulatorConfig()
    assert gemini_emulator.url.startswith("ws://127.0.0.1:")


async def test_a_session_through_gemini_connect(gemini_connect, gemini_emulator):
    async with gemini_connect(SETUP) as session:
        assert await turn(session, "Hello") == "You said: Hello"
    conn = await gemini_emulator.wait_for_connection(1)
    assert conn.received[1].get("realtimeInput.text") == "Hello"
"""


@pytest.mark.parametrize("mode", ["trio_mode", "marker"])
def test_the_fixtures_under_pytest_trio(pytester: pytest.Pytester, mode: str) -> None:
    if mode == "trio_mode":
        pytester.makeini("[pytest]\ntrio_mode = true\n")
        pytester.makepyfile(module(APP_TESTS))
    else:
        pytester.makepyfile(module("pytestmark = pytest.mark.trio\n" + APP_TESTS))
    run(pytester).assert_outcomes(passed=2)


def test_autojump_clock_makes_the_emulator_s_time_free(pytester: pytest.Pytester) -> None:
    # Spoken at its real pace, the answer takes about 4 s of the mock clock (60 ms a
    # character), and a fraction of that in real time. The real time is compared with the
    # mock clock's, not with a fixed budget: an emulator that paced in real time would take
    # at least as long in real time as the clock advanced, however fast the machine, and on
    # a loaded one the fraction (about 0.2 s) has a margin of 20 times.
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(
        module("""
        import time

        TEXT = "Please say something long enough to take a few seconds."


        @pytest.mark.parametrize("gemini_emulator_config", [EmulatorConfig(pacing="realtime")])
        async def test_paced(gemini_connect, autojump_clock):
            started, clock_started = time.perf_counter(), trio.current_time()
            async with gemini_connect(SETUP) as session:
                assert await turn(session, TEXT) == "You said: " + TEXT
            clock = trio.current_time() - clock_started
            real = time.perf_counter() - started
            assert clock > 3.5
            assert real < clock
        """)
    )
    run(pytester).assert_outcomes(passed=1)


ANYIO_TESTS = """
pytestmark = pytest.mark.anyio

CLOCK = {"clock": trio.testing.MockClock(autojump_threshold=0)}


@pytest.fixture(params=["trio", ("trio", CLOCK)], ids=["trio", "trio-autojump"])
def anyio_backend(request):
    return request.param
"""


def test_the_fixtures_under_anyio_on_trio(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(module(ANYIO_TESTS + APP_TESTS))
    run(pytester).assert_outcomes(passed=4)


def test_autojump_clock_under_anyio_fails_at_once_saying_how_to_fix(
    pytester: pytest.Pytester,
) -> None:
    # anyio's runner ignores pytest-trio's clock fixtures: the test ran on the run's clock
    # (the real one, or a MockClock that does not jump) and the one it was handed ran
    # nothing; a wait that never came held it for `wait_timeout` of real time. On an
    # autojumping MockClock, autojump_clock or another, the test runs as meant.
    pytester.makepyfile(
        module("""
        pytestmark = pytest.mark.anyio

        JUMPING = {"clock": trio.testing.MockClock(autojump_threshold=0)}
        STILL = {"clock": trio.testing.MockClock()}


        @pytest.fixture(
            params=["trio", ("trio", STILL), ("trio", JUMPING)],
            ids=["real", "still-mock", "jumping-mock"],
        )
        def anyio_backend(request):
            return request.param


        async def test_jumping(gemini_connect, autojump_clock):
            await trio.sleep(1000)  # free: the run's clock jumps
            assert trio.current_time() >= 1000


        async def test_without(gemini_connect):
            async with gemini_connect(SETUP) as session:
                assert await turn(session, "Hello") == "You said: Hello"
        """)
    )
    result = run(pytester)
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_jumping[[]real[]]*",
            "test_jumping[[]real[]] asks for pytest-trio's autojump_clock, but anyio's runner "
            "(`@pytest.mark.anyio`) ignores it: the test runs on the clock its `anyio_backend` "
            "fixture gives, the real clock (SystemClock). Have `anyio_backend` return "
            '("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), or '
            '("trio", {"clock": autojump_clock}) with autojump_clock as its argument; or run '
            "the test with pytest-trio (`trio_mode = true`*`@pytest.mark.trio`) instead",
            "*ERROR at setup of test_jumping[[]still-mock[]]*",
            "*its `anyio_backend` fixture gives, a MockClock that does not autojump. *",
        ]
    )
    result.stdout.no_fnmatch_line("*jumping-mock*")


def test_anyio_on_autojump_clock_itself_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        module("""
        @pytest.fixture
        def anyio_backend(autojump_clock):
            return ("trio", {"clock": autojump_clock})


        @pytest.mark.anyio
        async def test_jumping(gemini_connect, autojump_clock):
            await trio.sleep(1000)
            assert trio.current_time() >= 1000
        """)
    )
    run(pytester).assert_outcomes(passed=1)


def test_autojump_clock_pytest_trio_does_not_run_the_test_on_fails_saying_how_to_fix(
    pytester: pytest.Pytester,
) -> None:
    # pytest-trio runs a test on a clock fixture only when the test takes it as an
    # argument: through `usefixtures` or a helper fixture, autojump_clock runs nothing and
    # the test runs on the real clock. The advice was anyio's, wrong here.
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(
        module("""
        @pytest.fixture
        def jump(autojump_clock):
            return autojump_clock.jump


        @pytest.mark.usefixtures("autojump_clock")
        async def test_used(gemini_emulator):
            raise AssertionError("the test ran")


        async def test_helped(gemini_emulator, jump):
            raise AssertionError("the test ran")
        """)
    )
    result = run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*test_used asks for pytest-trio's autojump_clock through "
            "`@pytest.mark.usefixtures`, but pytest-trio runs a test on a clock fixture only "
            "when the test takes it as an argument: it runs on the real clock (SystemClock). "
            "Take autojump_clock as an argument of the test (`async def test_used(..., "
            "autojump_clock)`), and no other clock*",
            "*test_helped asks for pytest-trio's autojump_clock through another fixture (or "
            "the `usefixtures` option), not as an argument, but pytest-trio runs a test on a "
            "clock fixture only when the test takes it as an argument: *",
        ]
    )
    result.stdout.no_fnmatch_line("*the test ran*")
    result.stdout.no_fnmatch_line("*anyio_backend*")


def test_a_test_on_its_own_autojumping_clock_runs(pytester: pytest.Pytester) -> None:
    # autojump_clock, reached through a helper fixture, is not the run's clock; the test's
    # own clock jumps all the same. It was refused.
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(
        module("""
        @pytest.fixture
        def my_clock():
            return trio.testing.MockClock(autojump_threshold=0)


        @pytest.fixture
        def jump(autojump_clock):
            return autojump_clock.jump


        async def test_mine(gemini_connect, my_clock, jump):
            async with gemini_connect(SETUP) as session:
                assert await turn(session, "Hello") == "You said: Hello"
            await trio.sleep(1000)
            assert my_clock.current_time() >= 1000
        """)
    )
    run(pytester).assert_outcomes(passed=1)


def test_asyncio_fails_at_once_saying_why(pytester: pytest.Pytester) -> None:
    # On asyncio trio's calls fail deep inside, with errors about its run context.
    pytester.makepyfile(
        module("""
        pytestmark = pytest.mark.anyio


        @pytest.fixture
        def anyio_backend():
            return "asyncio"


        async def test_on_asyncio(gemini_connect):
            raise AssertionError("the test ran")
        """)
    )
    result = run(pytester, fresh_process=True)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_on_asyncio*",
            "gemini_emulator runs on trio, not on this event loop (asyncio?): *"
            "anyio's pytest plugin with the trio backend*"
            "trio-gemini-live does not support the asyncio backend",
        ]
    )
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    result.stdout.no_fnmatch_line("*the test ran*")


NOT_ON_TRIO = """
def test_plain_def_with_the_emulator(gemini_emulator):
    raise AssertionError("the test ran")


def test_plain_def_with_connect(gemini_connect):
    raise AssertionError("the test ran")


async def test_async_def(gemini_connect):
    raise AssertionError("the test ran")


async def test_async_def_with_the_emulator(gemini_emulator):
    raise AssertionError("the test ran")
"""
HOW_TO = (
    "run it with pytest-trio (`pip install pytest-trio`): set `trio_mode = true` in the "
    "pytest configuration*or mark the test `@pytest.mark.trio`; or with anyio's plugin: "
    "`@pytest.mark.anyio` and an `anyio_backend` fixture returning 'trio'*"
)


@pytest.mark.parametrize("trio_mode", [False, True])
def test_a_test_no_trio_runner_runs_is_told_what_to_do(
    pytester: pytest.Pytester, trio_mode: bool
) -> None:
    # Trio mode forgotten, pytest said "'test' requested an async fixture
    # 'gemini_emulator', with no plugin or hook that handled it" for the first test and
    # failed every later one with a bare AssertionError of its own; pytest-trio, for a
    # plain `def` test in trio mode, "Trio fixtures can only be used by Trio tests".
    # Neither named trio mode, the marker, nor the fix.
    if trio_mode:
        pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(module(NOT_ON_TRIO))
    result = run(pytester)
    lines = [
        "*ERROR at setup of test_plain_def_with_the_emulator*",
        "test_plain_def_with_the_emulator is a plain `def` test, and gemini_emulator "
        "(gemini_connect uses it) runs on trio: make the test `async def` and " + HOW_TO,
        "*ERROR at setup of test_plain_def_with_connect*",
        "test_plain_def_with_connect is a plain `def` test, *" + HOW_TO,
    ]
    if trio_mode:  # the async tests are run on trio, and fail as they should
        result.assert_outcomes(errors=2, failed=2)
        result.stdout.fnmatch_lines(["*AssertionError: the test ran"])
    else:
        result.assert_outcomes(errors=4)
        lines += [
            "*ERROR at setup of test_async_def *",
            "test_async_def uses gemini_connect (through gemini_emulator), which runs on "
            "trio, but no trio runner ran it: " + HOW_TO,
            "*ERROR at setup of test_async_def_with_the_emulator*",
            "test_async_def_with_the_emulator uses gemini_emulator, which runs on "
            "trio, but no trio runner ran it: " + HOW_TO,
        ]
        result.stdout.no_fnmatch_line("*the test ran*")
    result.stdout.fnmatch_lines(lines)
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    result.stdout.no_fnmatch_line("*assert not self._finalizers*")


def test_a_user_fixture_of_the_same_name_is_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        module("""
        @pytest.fixture
        async def gemini_emulator():
            yield "mine"


        def test_plain_def(gemini_emulator):
            raise AssertionError("the test ran")
        """)
    )
    result = run(pytester)
    # What pytest makes of it depends on its version (an error, or the test run with an
    # async generator): not this plugin's business.
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) + outcomes.get("failed", 0) == 1
    result.stdout.no_fnmatch_line("*runs on trio*")


def test_the_config_can_be_overridden_every_usual_way(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    # A conftest.py of a directory governs that directory only.
    overridden = pytester.mkdir("overridden")
    (overridden / "conftest.py").write_text(
        textwrap.dedent("""
        import pytest
        from trio_gemini_live.emulator import EmulatorConfig

        @pytest.fixture
        def gemini_emulator_config():
            return EmulatorConfig(api_keys={"conftest-key"})
        """)
    )
    (overridden / "test_conftest.py").write_text(
        module("""
        async def test_conftest(gemini_connect, gemini_emulator):
            assert gemini_emulator.config.api_keys == {"conftest-key"}
            async with gemini_connect(SETUP):  # sends the one key the emulator accepts
                pass
            conn = await gemini_emulator.wait_for_connection(1)
            assert conn.close_code == 1000
        """)
    )
    pytester.makepyfile(
        test_default=module("""
        async def test_default(gemini_emulator):
            assert gemini_emulator.config == EmulatorConfig()
        """),
        test_module=module("""
        @pytest.fixture
        def gemini_emulator_config():
            return EmulatorConfig(voice_activity=True)


        async def test_module(gemini_emulator):
            assert gemini_emulator.config.voice_activity
        """),
        test_parametrized=module("""
        CONFIGS = [EmulatorConfig(max_queued_turns=3), EmulatorConfig(max_queued_turns=4)]


        @pytest.mark.parametrize("gemini_emulator_config", CONFIGS)
        async def test_direct(gemini_emulator):
            assert gemini_emulator.config.max_queued_turns in (3, 4)


        @pytest.mark.parametrize("gemini_emulator_config", CONFIGS, indirect=True)
        async def test_indirect(gemini_emulator):
            assert gemini_emulator.config.max_queued_turns in (3, 4)


        @pytest.mark.parametrize("gemini_emulator_config", [{"pacing": "realtime"}], indirect=True)
        async def test_not_a_config(gemini_emulator):
            raise AssertionError("the test ran")
        """),
    )
    result = run(pytester)
    result.assert_outcomes(passed=7, errors=1)
    result.stdout.fnmatch_lines(
        ["*TypeError: gemini_emulator_config parametrized indirectly needs EmulatorConfig*"]
    )


def test_an_app_test_with_a_scripted_tool_call(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(
        module("""
        from trio_gemini_live import FunctionCall, function_tool
        from trio_gemini_live.emulator import Scenario, ScenarioToolCall, ScenarioTurn

        CITY = {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}
        TOOL_SETUP = live_setup(
            "gemini-2.5-flash-native-audio-preview-12-2025",
            functions=[function_tool("lookup", "Look a city up.", CITY)],
            output_transcription=True,
        )
        SCRIPT = Scenario((
            ScenarioTurn(
                when="oslo",
                tool_calls=(ScenarioToolCall("lookup", {"city": "Oslo"}),),
                after_tool="Found: {response}",
            ),
        ))


        async def app(session):
            await session.send_text("Tell me about Oslo")
            said, called = "", []
            async for event in session:
                if isinstance(event, FunctionCall):
                    called.append(event.arguments)
                    await session.respond(event.call_id, {"population": 700000})
                elif isinstance(event, OutputTranscription):
                    said += event.text
                elif isinstance(event, TurnComplete):
                    return said, called


        @pytest.mark.parametrize("gemini_emulator_config", [EmulatorConfig(scenario=SCRIPT)])
        async def test_app(gemini_connect, gemini_emulator, autojump_clock):
            async with gemini_connect(TOOL_SETUP) as session:
                said, called = await app(session)
            assert called == [{"city": "Oslo"}]
            assert said == 'Found: {"population": 700000}'
            conn = await gemini_emulator.wait_for_connection(1)
            [response] = [f for f in conn.received if f.get("toolResponse")]
            [result] = response.get("toolResponse.functionResponses")
            assert result["response"] == {"population": 700000}
        """)
    )
    run(pytester).assert_outcomes(passed=1)


SHUTDOWN_TESTS = """
import socket

LEFT = {}


async def test_leaves_things_running(gemini_connect, gemini_emulator):
    async with gemini_connect(SETUP) as session:
        await turn(session, "Hello")
        # A second client that connects and never says a word: its handler is still waiting
        # for the handshake when the test ends.
        await gemini_emulator.memory_connector()()
        LEFT.update(emulator=gemini_emulator, session=session)
        LEFT["nursery"] = gemini_emulator._nursery
        assert len(LEFT["nursery"].child_tasks) >= 3  # listener, upgraded, silent


def test_everything_was_shut_down_after_it():
    emulator = LEFT["emulator"]
    assert not LEFT["nursery"].child_tasks  # no task of the emulator outlived the test
    [conn] = emulator.connections
    assert conn.closed
    with pytest.raises(OSError):  # the listener is closed
        socket.create_connection(("127.0.0.1", emulator.port), timeout=5).close()
"""


@pytest.mark.parametrize("runner", ["pytest-trio", "anyio"])
def test_the_emulator_is_shut_down_after_the_test(pytester: pytest.Pytester, runner: str) -> None:
    if runner == "pytest-trio":
        pytester.makeini("[pytest]\ntrio_mode = true\n")
        pytester.makepyfile(module(SHUTDOWN_TESTS))
    else:
        prelude = "@pytest.fixture\ndef anyio_backend():\n    return 'trio'\n\n"
        pytester.makepyfile(
            module(prelude + SHUTDOWN_TESTS.replace("async def", "@pytest.mark.anyio\nasync def"))
        )
    run(pytester, fresh_process=True).assert_outcomes(passed=2)


def test_unused_it_sets_nothing_up_and_imports_no_emulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys


        def test_plain():
            assert "trio_gemini_live.emulator" not in sys.modules
        """
    )
    result = run(pytester, "--setup-show", fresh_process=True)
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*gemini_*")
    listing = run(pytester, "--fixtures")
    for name in ("gemini_emulator_config", "gemini_emulator", "gemini_connect"):
        listing.stdout.fnmatch_lines([f"{name}*", "*"])


# --- registration: the pytest11 entry point ----------------------------------------------------


def declared_entry_points() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return dict(project["entry-points"]["pytest11"])


def test_the_entry_point_is_named_after_the_module() -> None:
    # Named otherwise (`gemini_live`), pytest registered the module twice as soon as a user
    # also gave `-p trio_gemini_live.pytest_plugin` or `pytest_plugins = [...]`, and
    # stopped: "ValueError: Plugin already registered under a different name".
    assert declared_entry_points() == {PLUGIN: PLUGIN}


def installed_copy(tmp_path: Path) -> Path:
    """A directory that makes the plugin look installed: a distribution with only the
    `pytest11` entry points pyproject.toml declares (this checkout may have none installed)."""
    info = tmp_path / "site" / "trio_gemini_live_entry_points-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: trio-gemini-live-entry-points\nVersion: 0\n",
        encoding="utf-8",
    )
    lines = [f"{name} = {value}" for name, value in declared_entry_points().items()]
    (info / "entry_points.txt").write_text("[pytest11]\n" + "\n".join(lines) + "\n")
    return info.parent


@pytest.mark.parametrize("how", ["entry point", "and -p", "and pytest_plugins", "disabled"])
def test_installed_it_loads_once_however_else_it_is_named(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    site = installed_copy(tmp_path)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    )
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(
        module("""
        async def test_fixture(gemini_emulator):
            assert gemini_emulator.url
        """)
    )
    args: list[str] = []
    if how == "and -p":
        args = ["-p", PLUGIN]
    elif how == "and pytest_plugins":
        pytester.makeconftest(f"pytest_plugins = [{PLUGIN!r}]")
    elif how == "disabled":
        args = ["-p", f"no:{PLUGIN}"]
    result = run(pytester, *args, plugin=False, fresh_process=True)
    if how == "disabled":
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*fixture 'gemini_emulator' not found*"])
    else:
        result.assert_outcomes(passed=1)


def test_the_installed_package_registers_the_plugin() -> None:
    # What CI (nox) tests: `pip install .` must bring the entry point along.
    if "site-packages" not in Path(trio_gemini_live.__file__).resolve().parts:
        pytest.skip("trio_gemini_live is imported from a source checkout, not installed")
    points = importlib.metadata.entry_points(group="pytest11")
    assert {(point.name, point.value) for point in points if point.value == PLUGIN} == {
        (PLUGIN, PLUGIN)
    }


def test_importing_the_plugin_imports_no_emulator() -> None:
    code = f"import sys, {PLUGIN}; print('trio_gemini_live.emulator' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    assert result.stdout.strip() == "False"
