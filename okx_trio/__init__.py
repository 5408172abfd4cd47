"""okx_trio: a trio-native client for the OKX v5 WebSocket API."""

from __future__ import annotations

from ._api_client import (
    WsApiClient as WsApiClient,
    open_ws_api_client as open_ws_api_client,
)
from ._client import (
    ClientOptions as ClientOptions,
    ClientStatistics as ClientStatistics,
    WsClient as WsClient,
    open_ws_client as open_ws_client,
)
from ._exceptions import (
    OkxApiError as OkxApiError,
    OkxAuthError as OkxAuthError,
    OkxBatchError as OkxBatchError,
    OkxConnectionLost as OkxConnectionLost,
    OkxError as OkxError,
    OkxInternalError as OkxInternalError,
    OkxNotSent as OkxNotSent,
    OkxOrderError as OkxOrderError,
    OkxOrderRateLimitError as OkxOrderRateLimitError,
    OkxProtocolError as OkxProtocolError,
    OkxRateLimitError as OkxRateLimitError,
    OkxRequestError as OkxRequestError,
    OkxRequestTimeout as OkxRequestTimeout,
)
from ._instruments import Instrument as Instrument
from ._models import (
    Credentials as Credentials,
    Gap as Gap,
    LifecycleEvent as LifecycleEvent,
    OrderAck as OrderAck,
    Push as Push,
    Response as Response,
)
from ._orderbook import OrderBook as OrderBook
from ._orders import (
    OkxWaitTimeout as OkxWaitTimeout,
    OrderTracker as OrderTracker,
    Resolution as Resolution,
    ResolvedItem as ResolvedItem,
    TrackedOrder as TrackedOrder,
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
from ._subscriptions import (
    LiveOrderBook as LiveOrderBook,
    Subscription as Subscription,
    SubscriptionError as SubscriptionError,
)

__version__ = "0.1.0.dev0"

__all__ = sorted(
    name for name in dir() if not name.startswith("_") and name != "annotations"
)

# Tracebacks and reprs say okx_trio.OkxRequestTimeout, not okx_trio._exceptions....
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("okx_trio."):
        _obj.__module__ = "okx_trio"
del _name, _obj
