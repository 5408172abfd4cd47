"""The simulator's REST endpoints in memory, for a client's REST helper."""

from __future__ import annotations

import httpx

from okx_trio.testing import Simulator


class MemoryRest(httpx.AsyncBaseTransport):
    """Serves a client's REST requests from ``sim`` in memory, recording each one.

    Give it to the client through its connector (``connector.rest_transport =
    MemoryRest(sim)``): requests keep their real signature headers and reach
    the simulator's REST handler through :meth:`Simulator.rest_transport`, so
    the whole stack runs under ``trio.testing.MockClock`` without sockets.

    Attributes:
        calls: ``(method, target)`` of every request.
        headers: the headers of every request, in the same order.
        fail_next: how many coming requests fail with a connection error.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._inner = sim.rest_transport()
        self.calls: list[tuple[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_next = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode("ascii")
        self.calls.append((request.method, target))
        self.headers.append(dict(request.headers))
        if self.fail_next > 0:
            self.fail_next -= 1
            raise httpx.ConnectError("simulated outage", request=request)
        return await self._inner.handle_async_request(request)

    def paths(self) -> list[str]:
        """The path of every request, in order."""
        return [t.split("?")[0] for _, t in self.calls]
