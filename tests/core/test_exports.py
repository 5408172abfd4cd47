"""The public surface: complete, documented, and free of the simulator."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest

import okx_trio

CONTRACT_NAMES = {
    "Credentials", "open_ws_client", "open_ws_api_client", "WsClient", "WsApiClient", "Push",
    "Gap", "Response", "OrderAck", "LifecycleEvent", "OkxError", "OkxApiError",
    "OkxOrderError", "OkxBatchError", "OkxRateLimitError", "OkxOrderRateLimitError",
    "OkxAuthError", "OkxRequestError", "OkxNotSent", "OkxConnectionLost", "OkxRequestTimeout",
    "OkxProtocolError", "PlaceOrder", "CancelOrder", "AmendOrder", "MassCancel",
    "PlaceSpreadOrder", "AmendSpreadOrder", "CancelSpreadOrder", "MassCancelSpread",
}


def test_all_is_sorted_and_holds_the_contract() -> None:
    assert okx_trio.__all__ == sorted(okx_trio.__all__)
    assert set(okx_trio.__all__) >= CONTRACT_NAMES


@pytest.mark.parametrize("name", okx_trio.__all__)
def test_public_names_are_documented(name: str) -> None:
    obj = getattr(okx_trio, name)
    if name == "__version__":
        return
    assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_testing_is_not_imported_by_import_okx_trio() -> None:
    code = "import sys, okx_trio; print('okx_trio.testing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_exceptions_survive_copy_and_pickle() -> None:
    errors = [
        okx_trio.OkxApiError("60013", "Invalid args", "order", "a1", [{"x": 1}]),
        okx_trio.OkxOrderError("1", "", "order", "a1", [], okx_trio.OrderAck(s_code="51008")),
        okx_trio.OkxBatchError("2", "", "batch-orders", "b1", [],
                               [okx_trio.OrderAck(s_code="0"), okx_trio.OrderAck(s_code="50011")]),
        okx_trio.OkxAuthError("60024", "Wrong passphrase", "private"),
        okx_trio.OkxConnectionLost("lost", "order", "a2", "c1", [{"clOrdId": "c1"}], "private"),
        okx_trio.OkxNotSent("not sent", "order"),
        okx_trio.OkxRequestTimeout("timeout", "order", "a3"),
        okx_trio.OkxProtocolError("1 item for 2 sent", "batch-orders", "a4", "c1",
                                  [{"clOrdId": "c1"}], "private"),
        okx_trio.OkxBatchProtocolError("0", "", "batch-orders", "b2", [{"sCode": "0"}],
                                       [okx_trio.OrderAck(s_code="0", cl_ord_id="c1")],
                                       "1 item for 2 sent", [{"clOrdId": "c2"}], "private"),
    ]
    for exc in errors:
        for clone in (copy.copy(exc), pickle.loads(pickle.dumps(exc))):
            assert type(clone) is type(exc)
            assert str(clone) == str(exc)
    batch = pickle.loads(pickle.dumps(errors[2]))
    assert len(batch.rate_limited) == 1
    unknown = copy.copy(errors[-1])
    assert isinstance(unknown, okx_trio.OkxBatchError)
    assert isinstance(unknown, okx_trio.OkxProtocolError)
    assert unknown.request == [{"clOrdId": "c2"}]
    assert unknown.cl_ord_id == "c2"
    assert [a.cl_ord_id for a in unknown.succeeded] == ["c1"]
    assert unknown.connection == "private"
    assert type(errors[0]).__module__ == "okx_trio"
