"""The exceptions okx_trio raises on purpose.

::

    OkxError                      base of everything this library raises on purpose
    ├── OkxApiError               the exchange answered with code != "0"
    │   ├── OkxOrderError         a single-order op failed (.s_code .s_msg .ack)
    │   │   ├── OkxOrderRateLimitError  (also an OkxRateLimitError)
    │   │   └── OkxOrderRuleError  (also a ValueError) tick, lot or minimum size
    │   │                         broken: refused before sending, or by the exchange
    │   ├── OkxBatchError         a batch op failed whole ("1") or in part ("2")
    │   │   └── OkxBatchProtocolError  (also an OkxProtocolError) its answer did not
    │   │                         match what was sent: .acks believed, .request unknown
    │   ├── OkxRateLimitError     the exchange said too many requests (50011 / 60014)
    │   └── SubscriptionError     a subscription was refused (.arg)
    ├── OkxAuthError              login refused
    ├── OkxConnectError           a connection cannot be opened: wrong URL, DNS, TLS, HTTP 4xx
    ├── OkxRequestError           not executed, or outcome unknown
    │   ├── OkxNotSent            never reached the socket (safe to retry)
    │   ├── OkxConnectionLost     written, then the connection dropped (outcome unknown)
    │   └── OkxRequestTimeout     written, no answer before the deadline (outcome unknown)
    │       └── OkxWaitTimeout    wait_order's deadline passed (.order)
    ├── OkxProtocolError          the server broke the protocol; when it answered a
    │                             written request: outcome unknown (.request, resolve it)
    └── OkxInternalError          a bug in okx_trio (please report it)

Every exception keeps its constructor arguments in ``args`` so that it
survives ``copy.copy`` and ``pickle``; the rich attributes are rebuilt from
them. No message ever contains a secret: messages are built only from codes,
ids, ops and the exchange's own text.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ._models import OrderAck, TrackedOrder
from ._okx import RATE_LIMIT_CODES

__all__ = [
    "OkxApiError",
    "OkxAuthError",
    "OkxBatchError",
    "OkxBatchProtocolError",
    "OkxConnectError",
    "OkxConnectionLost",
    "OkxError",
    "OkxInternalError",
    "OkxNotSent",
    "OkxOrderError",
    "OkxOrderRateLimitError",
    "OkxOrderRuleError",
    "OkxProtocolError",
    "OkxRateLimitError",
    "OkxRequestError",
    "OkxRequestTimeout",
    "OkxWaitTimeout",
    "SubscriptionError",
    "copy_error",
]

E = TypeVar("E", bound=BaseException)


class OkxError(Exception):
    """Base class of every exception okx_trio raises on purpose."""


class OkxApiError(OkxError):
    """The exchange answered a request with ``code != "0"``.

    Attributes:
        code: OKX's error code (a string, as on the wire).
        msg: OKX's error message.
        op: the op of the request (``"order"``, ``"subscribe"``...), or ``None``.
        id: the request id, or ``None`` for connection-level errors.
        data: the response's ``data`` list (empty for request-level errors).
    """

    def __init__(
        self,
        code: str,
        msg: str,
        op: str | None = None,
        id: str | None = None,
        data: Sequence[Mapping[str, Any]] = (),
        *extra: Any,
    ) -> None:
        # OkxError.__init__ by name: in OkxBatchProtocolError the next class in
        # the MRO is OkxProtocolError, whose arguments are not these.
        OkxError.__init__(self, code, msg, op, id, list(data), *extra)
        self.code = code
        self.msg = msg
        self.op = op
        self.id = id
        self.data: list[Mapping[str, Any]] = list(data)

    def __str__(self) -> str:
        where = f" ({self.op}" + (f", id={self.id}" if self.id else "") + ")" if self.op else ""
        return f"OKX error {self.code}: {self.msg or '(no message)'}{where}"


class OkxRateLimitError(OkxApiError):
    """The exchange rejected the request as too frequent (50011, 60014, 50061)."""


class OkxOrderError(OkxApiError):
    """A single-order op (place, amend, cancel, spread...) failed.

    Attributes:
        s_code: the item's ``sCode``.
        s_msg: the item's ``sMsg``.
        ack: the item as an ``OrderAck`` (``ord_id``, ``cl_ord_id``...).
    """

    def __init__(
        self,
        code: str,
        msg: str,
        op: str | None = None,
        id: str | None = None,
        data: Sequence[Mapping[str, Any]] = (),
        ack: OrderAck | None = None,
    ) -> None:
        super().__init__(code, msg, op, id, data, ack)
        self.ack = ack
        self.s_code: str = ack.s_code if ack is not None else code
        self.s_msg: str = ack.s_msg if ack is not None else msg

    def __str__(self) -> str:
        ident = ""
        if self.ack is not None:
            if self.ack.cl_ord_id:
                ident += f", clOrdId={self.ack.cl_ord_id}"
            if self.ack.ord_id:
                ident += f", ordId={self.ack.ord_id}"
        return f"OKX {self.op or 'order'} failed: sCode {self.s_code}: {self.s_msg}{ident}"


class OkxOrderRateLimitError(OkxOrderError, OkxRateLimitError):
    """A single-order op whose item was rejected with 50011 (rate limit)."""


class OkxOrderRuleError(OkxOrderError, ValueError):
    """An order breaks its instrument's trading rules: a price off the tick size,
    a size that is not a multiple of the lot size or below the minimum order size.

    Nothing rests either way. When the client knows the instrument (named by
    ``instId``, or its list cached by an earlier order or ``load_instruments``)
    it refuses the order before sending (``sent`` is False; ``s_code`` is the
    code the exchange would answer: 51000 price, 51121 lot, 51020 minimum);
    otherwise the exchange's answer (item ``sCode`` 51020 or 51121) raises it.
    One mistake, one class: it is an ``OkxOrderError`` and a ``ValueError``,
    so code written for either keeps working.

    Attributes:
        sent: whether the order reached the exchange.
    """

    def __init__(
        self,
        code: str,
        msg: str,
        op: str | None = None,
        id: str | None = None,
        data: Sequence[Mapping[str, Any]] = (),
        ack: OrderAck | None = None,
        sent: bool = True,
    ) -> None:
        super().__init__(code, msg, op, id, data, ack)
        self.args = (*self.args, sent)
        self.sent = sent

    def __str__(self) -> str:
        if self.sent:
            return super().__str__()
        ident = f" (clOrdId={self.ack.cl_ord_id})" if self.ack and self.ack.cl_ord_id else ""
        return f"order refused before sending, nothing was sent: {self.s_msg}{ident}"


class OkxBatchError(OkxApiError):
    """A batch op failed as a whole (code ``"1"``) or in part (code ``"2"``).

    Attributes:
        acks: every item, in request order.
        succeeded: the acks with ``sCode == "0"``.
        failed: the acks with ``sCode != "0"``.
        rate_limited: the failed acks whose ``sCode`` is a rate-limit code.
    """

    def __init__(
        self,
        code: str,
        msg: str,
        op: str | None = None,
        id: str | None = None,
        data: Sequence[Mapping[str, Any]] = (),
        acks: Sequence[OrderAck] = (),
    ) -> None:
        super().__init__(code, msg, op, id, data, list(acks))
        self.acks: list[OrderAck] = list(acks)
        self.succeeded = [a for a in self.acks if a.s_code == "0"]
        self.failed = [a for a in self.acks if a.s_code != "0"]
        self.rate_limited = [a for a in self.failed if a.s_code in RATE_LIMIT_CODES]

    def __str__(self) -> str:
        codes = ",".join(sorted({a.s_code for a in self.failed})) or self.code
        return (
            f"OKX {self.op or 'batch'} code {self.code}: {len(self.failed)} of "
            f"{len(self.acks)} items failed (sCode {codes})"
        )


class SubscriptionError(OkxApiError):
    """The exchange refused a subscription (an ``OkxApiError`` naming the arg).

    Attributes:
        arg: the refused arg; also ``data[0]``.
    """

    def __init__(
        self,
        code: str,
        msg: str,
        op: str | None = "subscribe",
        id: str | None = None,
        arg: Mapping[str, Any] | None = None,
    ) -> None:
        arg_dict = dict(arg or {})
        OkxError.__init__(self, code, msg, op, id, arg_dict)
        self.code = code
        self.msg = msg
        self.op = op
        self.id = id
        self.arg: dict[str, Any] = arg_dict
        self.data: list[Mapping[str, Any]] = [arg_dict]

    def __str__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in self.arg.items())
        return f"OKX {self.op or 'subscribe'} of {{{fields}}} refused: {self.code} {self.msg}"


class OkxAuthError(OkxError):
    """Login was refused (bad key, sign, timestamp, passphrase or environment).

    Attributes:
        code: OKX's error code.
        msg: OKX's message.
        connection: ``"private"``, ``"business"`` or ``"public"``.
    """

    def __init__(self, code: str, msg: str, connection: str | None = None) -> None:
        super().__init__(code, msg, connection)
        self.code = code
        self.msg = msg
        self.connection = connection

    def __str__(self) -> str:
        where = f" on the {self.connection} connection" if self.connection else ""
        return f"OKX login refused{where}: {self.code} {self.msg}"


class OkxConnectError(OkxError):
    """A connection cannot be opened, and trying again will not help.

    The host name does not resolve, nothing listens on the port, the TLS
    handshake failed (a plain server behind ``wss://``, an untrusted
    certificate), or the server refused the WebSocket upgrade with HTTP 3xx/4xx
    (a wrong path, not an OKX server). Usually a configuration mistake
    (``base_url``, ``ssl_context``). Raised at once to every call waiting for
    that connection and to every later call that needs it, when the
    connection has never been open; once it has been, the same failures are
    retried with backoff (an outage) and a request whose deadline passes
    meanwhile gets ``OkxNotSent`` carrying the last failure as its
    ``__cause__``. The message names the reason; ``__cause__`` is the
    underlying error.

    Attributes:
        connection: ``"public"``, ``"private"`` or ``"business"``.
        url: the URL that could not be opened.
    """

    def __init__(self, message: str, connection: str | None = None,
                 url: str | None = None) -> None:
        super().__init__(message, connection, url)
        self.message = message
        self.connection = connection
        self.url = url

    def __str__(self) -> str:
        return self.message


class OkxRequestError(OkxError):
    """The request was not executed, or its outcome is unknown.

    Attributes:
        op: the request's op.
        id: the request's id.
        cl_ord_id: the ``clOrdId`` of the (first) order it carried, if any, so the
            outcome can be resolved (see ``WsApiClient.resolve``).
        request: the request's ``args`` as sent (or as they would have been sent).
    """

    def __init__(
        self,
        message: str,
        op: str | None = None,
        id: str | None = None,
        cl_ord_id: str | None = None,
        request: Sequence[Mapping[str, Any]] = (),
        connection: str | None = None,
    ) -> None:
        super().__init__(message, op, id, cl_ord_id, list(request), connection)
        self.message = message
        self.op = op
        self.id = id
        self.cl_ord_id = cl_ord_id
        self.request: list[Mapping[str, Any]] = list(request)
        self.connection = connection

    def __str__(self) -> str:
        return _describe(self.message, self.op, self.id, self.cl_ord_id)


def _describe(message: str, op: str | None, id: str | None, cl_ord_id: str | None) -> str:
    parts = [message]
    if op:
        parts.append(f"op={op}")
    if id:
        parts.append(f"id={id}")
    if cl_ord_id:
        parts.append(f"clOrdId={cl_ord_id}")
    return parts[0] + (" (" + ", ".join(parts[1:]) + ")" if len(parts) > 1 else "")


class OkxNotSent(OkxRequestError):
    """The request never reached the socket: it is safe to retry."""


class OkxConnectionLost(OkxRequestError):
    """The request was written, then the connection dropped: outcome unknown."""


class OkxRequestTimeout(OkxRequestError):
    """The request was written and no answer came before its deadline: outcome unknown."""


class OkxWaitTimeout(OkxRequestTimeout):
    """``wait_order`` reached its deadline before the order reached the states.

    Attributes:
        order: the order's last known state, or ``None`` if the tracker has
            never seen it.
    """

    def __init__(
        self,
        message: str,
        op: str | None = "wait_order",
        id: str | None = None,
        cl_ord_id: str | None = None,
        request: Sequence[Mapping[str, Any]] = (),
        connection: str | None = None,
        order: TrackedOrder | None = None,
    ) -> None:
        super().__init__(message, op, id, cl_ord_id, request, connection)
        self.args = (*self.args, order)
        self.order = order


class OkxProtocolError(OkxError):
    """The server sent something that breaks the OKX protocol.

    Raised by a request whose answer does not match what was sent (another op,
    an event where an answer was due, the wrong number of items, another
    ``clOrdId``, an accepted item under a failure code...): the exchange did
    receive the request, but what it did is unknown, exactly as after
    ``OkxConnectionLost``. ``request`` then holds the items concerned, and
    ``WsApiClient.resolve(exc)`` finds out what happened to them. Reported,
    without ``request``, as an ``exception`` lifecycle event when a push or an
    event makes no sense.

    Attributes:
        message: what did not match.
        op: the request's op, or ``None``.
        id: the request's id, or ``None``.
        cl_ord_id: the ``clOrdId`` of the (first) order concerned, if any.
        request: the items concerned, as sent (empty when no request is).
        connection: ``"public"``, ``"private"`` or ``"business"``, or ``None``.
    """

    def __init__(
        self,
        message: str,
        op: str | None = None,
        id: str | None = None,
        cl_ord_id: str | None = None,
        request: Sequence[Mapping[str, Any]] = (),
        connection: str | None = None,
    ) -> None:
        OkxError.__init__(self, message, op, id, cl_ord_id, list(request), connection)
        self.message = message
        self.op = op
        self.id = id
        self.cl_ord_id = cl_ord_id
        self.request: list[Mapping[str, Any]] = list(request)
        self.connection = connection

    def __str__(self) -> str:
        return _describe(self.message, self.op, self.id, self.cl_ord_id)


class OkxBatchProtocolError(OkxBatchError, OkxProtocolError):
    """A batch answer that does not match what was sent (see ``OkxProtocolError``).

    An ``OkxBatchError`` (so ``except OkxBatchError`` sees it) whose ``acks``
    are the items that did come and match their order (``succeeded`` and
    ``failed`` as usual), and an ``OkxProtocolError`` whose ``request`` holds
    the items whose outcome is unknown (missing, misplaced, naming another
    ``clOrdId``, contradicting the answer's code): pass the error to
    ``WsApiClient.resolve`` to learn what happened to them.
    """

    def __init__(
        self,
        code: str,
        msg: str,
        op: str | None = None,
        id: str | None = None,
        data: Sequence[Mapping[str, Any]] = (),
        acks: Sequence[OrderAck] = (),
        message: str = "",
        request: Sequence[Mapping[str, Any]] = (),
        connection: str | None = None,
    ) -> None:
        OkxBatchError.__init__(self, code, msg, op, id, data, acks)
        self.args = (*self.args, message, list(request), connection)
        self.message = message
        self.request = list(request)
        self.connection = connection
        first = self.request[0].get("clOrdId") if self.request else None
        self.cl_ord_id = first if isinstance(first, str) and first else None

    def __str__(self) -> str:
        return (
            f"OKX {self.op or 'batch'} answer not believed ({self.message}): "
            f"{len(self.request)} item(s) of unknown outcome, {len(self.acks)} acked "
            f"({len(self.failed)} refused)"
        )


class OkxInternalError(OkxError):
    """A bug in okx_trio; please report it with the traceback."""


def copy_error(exc: E) -> E:
    """A fresh copy of a stored failure, one for each waiter that raises it.

    Raising one object from several tasks would pile their tracebacks onto it;
    every exception here keeps its arguments, so ``copy.copy`` rebuilds it whole;
    the copy keeps the original's ``__cause__`` (why it happened).
    """
    try:
        new = copy.copy(exc)
    except Exception:  # pragma: no cover - every OkxError keeps its args
        return exc
    new.__cause__ = exc.__cause__
    new.__suppress_context__ = exc.__suppress_context__
    return new
