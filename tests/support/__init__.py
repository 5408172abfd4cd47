"""Helpers shared by the client's tests (``from support.x import ...``).

* ``scripted``: a tiny scripted OKX server (session tests, in memory or on sockets);
* ``streams``: a simulator with a ``WsClient`` attached, and push helpers;
* ``orders``: a simulator with a logged-in ``WsApiClient``, order helpers;
* ``reliability``: size switches, recording connectors, log capture;
* ``rest``: the simulator's REST endpoints in memory, recording each request;
* ``internals``: the few client internals tests assert on, in one place.

The simulator's own tests (``tests/simulator``) keep their helpers apart.
"""
