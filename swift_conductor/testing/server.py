"""The server tests talk to (embedded, or a real one by URL), the clients bound to it, and unique names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from ..clients import MetadataClient, TaskClient, WorkflowClient
from ..configuration import Configuration
from ..errors import ConductorConnectionError, ConductorError
from ..http.api_client import ApiClient

if TYPE_CHECKING:
    from ..devserver import EmbeddedServer

#: The environment variable that points the pytest plugin at a real server (``--conductor-server`` wins).
SERVER_URL_ENV = "CONDUCTOR_TEST_SERVER_URL"
#: The embedded server's clock, served over HTTP only when it was started with time control.
CLOCK_ROUTE = "test/clock"
#: Seconds to wait for a real server to answer the first request before calling it down.
PROBE_TIMEOUT_S = 5.0


class ServerUnavailable(ConductorError):
    """No Conductor server answers at the URL the tests were given (down, silent, not Conductor, or a bad URL).

    Under the package's one error root, so ``except ConductorError`` catches it too."""


class ConductorTestServer:
    """The server under test: the embedded one (whose clock :meth:`advance` moves) or a real one by URL."""

    __test__ = False  # not a test class, whatever module imports it

    def __init__(
        self, api_url: str, embedded: Optional[EmbeddedServer] = None, source: str = "", *, remote_clock: bool = False
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.embedded = embedded
        self.source = source  # where a real server's URL came from, for messages
        self.remote_clock = remote_clock  # a server by URL that serves the clock route (started for tests)

    @classmethod
    def start_embedded(cls) -> ConductorTestServer:
        """An embedded server on a free port of 127.0.0.1, started with its clock under the tests' control."""
        from ..devserver import EmbeddedServer

        server = EmbeddedServer(port=0, host="127.0.0.1", time_control=True)
        server.start()
        return cls(server.api_url, server)

    @classmethod
    def connect(cls, url: str, source: str = "the given URL") -> ConductorTestServer:
        """A real server by URL, after checking (bounded in time) that something answers there."""
        try:
            probe = Configuration(server_api_url=url, connect_timeout=PROBE_TIMEOUT_S, read_timeout=PROBE_TIMEOUT_S)
        except ValueError as exc:
            raise ServerUnavailable(f"bad Conductor server URL from {source}: {exc}") from None
        try:
            TaskClient(probe).queue_sizes("swift_conductor_probe")
        except ConductorConnectionError as exc:
            raise ServerUnavailable(
                f"no Conductor server answers at {probe.server_api_url} (from {source}): {exc}. "
                "Start that server, or drop the setting to test on the embedded server."
            ) from None
        except ConductorError as exc:
            raise ServerUnavailable(
                f"the server at {probe.server_api_url} (from {source}) does not answer as a Conductor server: {exc}"
            ) from None
        return cls(probe.server_api_url, None, source, remote_clock=_has_clock_route(probe))

    @property
    def is_embedded(self) -> bool:
        """True when the tests run on the embedded server this process started."""
        return self.embedded is not None

    @property
    def can_advance(self) -> bool:
        """True when :meth:`advance` works: the plugin's embedded server, or a server by URL started with time
        control (``swift-conductor devserver --time-control``)."""
        return self.embedded is not None or self.remote_clock

    def configuration(self, **kwargs: Any) -> Configuration:
        """A Configuration for this server (keyword arguments go to ``Configuration``)."""
        return Configuration(server_api_url=self.api_url, **kwargs)

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward: retry delays, callbacks and timeouts due by then fire at once."""
        if not self.can_advance:
            raise RuntimeError(
                f"conductor_server.advance() needs the embedded server, but these tests run against the server at "
                f"{self.api_url} ({self.source}), whose clock cannot be moved (only an embedded server started "
                "with time control has one). Skip such tests there: "
                "`if not conductor_server.can_advance: pytest.skip(...)`."
            )
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ValueError(f"advance: seconds must be a number >= 0, got {seconds!r}")
        if self.embedded is not None:
            self.embedded.advance(seconds)
        else:
            ApiClient(self.configuration()).request(
                "POST", CLOCK_ROUTE + "/advance", params={"seconds": repr(float(seconds))}
            )

    def stop(self) -> None:
        """Close this process's connections to the server, and stop it if it is the embedded one (a server by
        URL is left running)."""
        ApiClient(self.configuration()).close()
        if self.embedded is not None:
            self.embedded.stop()

    def __repr__(self) -> str:
        kind = "embedded" if self.embedded is not None else "by URL"
        return f"<ConductorTestServer {kind} {self.api_url}>"


def _has_clock_route(configuration: Configuration) -> bool:
    """Whether the server answers the test clock route (an embedded server started with time control)."""
    try:
        state = ApiClient(configuration).request("GET", CLOCK_ROUTE)
    except ConductorError:
        return False
    return isinstance(state, dict) and "offsetMs" in state


@dataclass
class Conductor:
    """The three clients bound to one server."""

    configuration: Configuration
    metadata: MetadataClient
    workflows: WorkflowClient
    tasks: TaskClient

    @classmethod
    def connect(cls, configuration: Configuration) -> Conductor:
        return cls(
            configuration, MetadataClient(configuration), WorkflowClient(configuration), TaskClient(configuration)
        )

    @property
    def api_url(self) -> str:
        return self.configuration.server_api_url


def unique_name(prefix: str = "test") -> str:
    """``prefix`` plus a random suffix: servers outlive tests (and are shared by xdist workers and people),
    so names that must not collide get one each."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
