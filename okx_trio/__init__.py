"""okx_trio: a trio-native client for the OKX v5 WebSocket and REST APIs.

Every name here is re-exported from a private module (``from ._x import Y as
Y``, so static checkers see it as public); the typed views of push data are in
``okx_trio.views``, the simulator in ``okx_trio.testing`` (not imported
by ``import okx_trio``).
"""

from __future__ import annotations

import logging as _logging

from . import views as views
from ._api_client import (
    WsApiClient as WsApiClient,
    open_ws_api_client as open_ws_api_client,
)
from ._books import (
    BookStatistics as BookStatistics,
    LiveOrderBook as LiveOrderBook,
)
from ._client import (
    WsClient as WsClient,
    open_ws_client as open_ws_client,
)
from ._events import EventStream as EventStream
from ._exceptions import (
    OkxApiError as OkxApiError,
    OkxAuthError as OkxAuthError,
    OkxBatchError as OkxBatchError,
    OkxBatchProtocolError as OkxBatchProtocolError,
    OkxConnectError as OkxConnectError,
    OkxConnectionLost as OkxConnectionLost,
    OkxError as OkxError,
    OkxInternalError as OkxInternalError,
    OkxNotSent as OkxNotSent,
    OkxOrderError as OkxOrderError,
    OkxOrderRateLimitError as OkxOrderRateLimitError,
    OkxOrderRuleError as OkxOrderRuleError,
    OkxProtocolError as OkxProtocolError,
    OkxRateLimitError as OkxRateLimitError,
    OkxRequestError as OkxRequestError,
    OkxRequestTimeout as OkxRequestTimeout,
    OkxWaitTimeout as OkxWaitTimeout,
    SubscriptionError as SubscriptionError,
)
from ._models import (
    AbandonedRequest as AbandonedRequest,
    ClientStatistics as ClientStatistics,
    Credentials as Credentials,
    Gap as Gap,
    Instrument as Instrument,
    LifecycleEvent as LifecycleEvent,
    OrderAck as OrderAck,
    Resolution as Resolution,
    ResolvedItem as ResolvedItem,
    Response as Response,
    TrackedOrder as TrackedOrder,
)
from ._options import ClientOptions as ClientOptions
from ._orderbook import OrderBook as OrderBook
from ._push import Push as Push
from ._recorder import (
    Recorder as Recorder,
    RecorderStatistics as RecorderStatistics,
    record as record,
)
from ._recording_format import (
    RecordedGap as RecordedGap,
    RecordedPush as RecordedPush,
    RecordingHeader as RecordingHeader,
)
from ._recording_io import (
    Recording as Recording,
    read_recording as read_recording,
)
from ._requests import (
    AmendOrder as AmendOrder,
    AmendSpreadOrder as AmendSpreadOrder,
    CancelOrder as CancelOrder,
    CancelSpreadOrder as CancelSpreadOrder,
    MassCancel as MassCancel,
    MassCancelSpread as MassCancelSpread,
    PlaceOrder as PlaceOrder,
    PlaceSpreadOrder as PlaceSpreadOrder,
)
from ._rest_api import RestApiClient as RestApiClient
from ._rest_client import open_rest_client as open_rest_client
from ._rest_pages import Pages as Pages
from ._subscriptions import (
    Subscription as Subscription,
    SubscriptionStatistics as SubscriptionStatistics,
)
from ._tracker import OrderTracker as OrderTracker
from ._transport import (
    Connector as Connector,
    Transport as Transport,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "AbandonedRequest",
    "AmendOrder",
    "AmendSpreadOrder",
    "BookStatistics",
    "CancelOrder",
    "CancelSpreadOrder",
    "ClientOptions",
    "ClientStatistics",
    "Connector",
    "Credentials",
    "EventStream",
    "Gap",
    "Instrument",
    "LifecycleEvent",
    "LiveOrderBook",
    "MassCancel",
    "MassCancelSpread",
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
    "OrderAck",
    "OrderBook",
    "OrderTracker",
    "Pages",
    "PlaceOrder",
    "PlaceSpreadOrder",
    "Push",
    "RecordedGap",
    "RecordedPush",
    "Recorder",
    "RecorderStatistics",
    "Recording",
    "RecordingHeader",
    "Resolution",
    "ResolvedItem",
    "Response",
    "RestApiClient",
    "Subscription",
    "SubscriptionError",
    "SubscriptionStatistics",
    "TrackedOrder",
    "Transport",
    "WsApiClient",
    "WsClient",
    "open_rest_client",
    "open_ws_api_client",
    "open_ws_client",
    "read_recording",
    "record",
]

# A library leaves logging to the application: without this handler, Python's
# last-resort handler would print our warnings as bare lines without the logger's
# name. Configure logging (docs/guide/sessions.md, "Logging") to see them.
_logging.getLogger("okx_trio").addHandler(_logging.NullHandler())

# Tracebacks and reprs say okx_trio.OkxRequestTimeout, not okx_trio._exceptions....
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("okx_trio."):
        _obj.__module__ = "okx_trio"
del _name, _obj
