"""RPI orders (OKX renamed ELP to RPI; the ELP names were retired after 2026-10-31).

The request models accept ``ordType: "rpi"``, ``rpiTakerAccess`` (place and
amend) and ``rpiPxRound``, and refuse the retired ``ordType: "elp"`` and
``isElpTakerAccess`` with a ValueError that names the RPI replacement, before
anything is sent.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from support.scripted import CREDS, ScriptedServer

import okx_trio
from okx_trio._requests import AmendOrder, PlaceOrder, coerce, from_okx, to_wire

RPI = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "rpi",
       "sz": "0.01", "px": "30000"}
IOC = {"instIdCode": 100001, "tdMode": "cash", "side": "sell", "ordType": "ioc",
       "sz": "0.01", "px": "29000"}
AMEND = {"instIdCode": 100001, "ordId": "123", "newPx": "30001"}


def test_rpi_order_type_with_price_rounding() -> None:
    order = from_okx(PlaceOrder, {**RPI, "rpiPxRound": True})
    assert to_wire(order) == {**RPI, "rpiPxRound": True}


def test_rpi_order_needs_a_price() -> None:
    with pytest.raises(ValueError, match="px"):
        from_okx(PlaceOrder, {k: v for k, v in RPI.items() if k != "px"})


@pytest.mark.parametrize("ord_type", ["limit", "market", "fok", "ioc", "optimal_limit_ioc"])
def test_rpi_taker_access_on_taking_orders(ord_type: str) -> None:
    params = {**IOC, "ordType": ord_type, "rpiTakerAccess": True}
    if ord_type in ("market", "optimal_limit_ioc"):
        del params["px"]
    assert to_wire(from_okx(PlaceOrder, params))["rpiTakerAccess"] is True


@pytest.mark.parametrize("ord_type", ["post_only", "rpi", "mmp"])
def test_rpi_taker_access_refused_on_maker_orders(ord_type: str) -> None:
    with pytest.raises(ValueError, match="rpiTakerAccess"):
        from_okx(PlaceOrder, {**IOC, "ordType": ord_type, "rpiTakerAccess": True})


def test_rpi_px_round_only_on_rpi_orders() -> None:
    with pytest.raises(ValueError, match="rpiPxRound"):
        from_okx(PlaceOrder, {**IOC, "rpiPxRound": True})


def test_rpi_fields_on_amend() -> None:
    amend = from_okx(AmendOrder, {**AMEND, "rpiTakerAccess": True, "rpiPxRound": False})
    assert to_wire(amend) == {**AMEND, "rpiTakerAccess": True, "rpiPxRound": False}
    assert AmendOrder(inst_id_code=1, ord_id="1", new_sz="2", rpi_taker_access=True
                      ).rpi_taker_access is True


def test_rpi_flags_must_be_bool() -> None:
    with pytest.raises(TypeError, match="rpiTakerAccess"):
        from_okx(PlaceOrder, {**IOC, "rpiTakerAccess": "true"})
    with pytest.raises(TypeError, match="rpiPxRound"):
        from_okx(AmendOrder, {**AMEND, "rpiPxRound": 1})


@pytest.mark.parametrize(
    ("build", "names"),
    [
        (lambda: from_okx(PlaceOrder, {**RPI, "ordType": "elp"}), "'rpi'"),
        (lambda: PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="elp",
                            sz="1", px="1"), "'rpi'"),
        (lambda: from_okx(PlaceOrder, {**IOC, "isElpTakerAccess": True}), "rpiTakerAccess"),
        (lambda: from_okx(PlaceOrder, {**IOC, "isElpTakerAccess": False}), "rpiTakerAccess"),
        (lambda: PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="ioc",
                            sz="1", px="1", is_elp_taker_access=True), "rpiTakerAccess"),
        (lambda: from_okx(AmendOrder, {**AMEND, "isElpTakerAccess": True}), "rpiTakerAccess"),
        (lambda: coerce(PlaceOrder, {**IOC, "isElpTakerAccess": True}), "rpiTakerAccess"),
        (lambda: PlaceOrder(inst_id_code=1, td_mode="cash", side="buy", ord_type="ioc",
                            sz="1", px="1", extra={"isElpTakerAccess": True}), "rpiTakerAccess"),
    ],
)
def test_retired_elp_names_refused_naming_rpi(build: Any, names: str) -> None:
    with pytest.raises(ValueError, match="retired") as info:
        build()
    assert names in str(info.value)
    assert "2026-10-31" in str(info.value)


async def test_rpi_order_reaches_the_wire_and_elp_sends_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = ScriptedServer()
    async with trio.open_nursery() as nursery:
        connector = server.memory_connector(nursery)
        async with okx_trio.open_ws_api_client(
            base_url="ws://127.0.0.1:9", transport=connector, credentials=CREDS,
            log_lifecycle=False,
        ) as api:
            with trio.fail_after(10):
                await api.submit_new_order({**RPI, "clOrdId": "rpi1"})
                await api.submit_new_order({**IOC, "clOrdId": "take1", "rpiTakerAccess": True})
                with pytest.raises(ValueError, match="rpi"):
                    await api.submit_new_order({**RPI, "ordType": "elp"})
        nursery.cancel_scope.cancel()
    sent = [obj["args"][0] for obj in server.ops("order")]
    assert [a["ordType"] for a in sent] == ["rpi", "ioc"]
    assert sent[1]["rpiTakerAccess"] is True


# -- views of books-rpi levels


def test_books_rpi_view_knows_the_rpi_split() -> None:
    from decimal import Decimal

    from okx_trio import Push
    from okx_trio._convert import converter
    from okx_trio.views import BookData, RpiBookData, RpiBookLevel, view_type

    item = {"asks": [["100.6", "5", "3", "2"]], "bids": [["100.5", "2", "2", "1"]],
            "ts": "1700000000000", "prevSeqId": -1, "seqId": 7}
    (book,) = Push(arg={"channel": "books-rpi", "instId": "X"}, data=[item],
                   action="snapshot").view()
    assert isinstance(book, RpiBookData)
    assert book.asks == [RpiBookLevel(Decimal("100.6"), Decimal("5"), Decimal("3"), 2)]
    assert book.bids[0].non_rpi_sz == Decimal("2")
    assert book.seq_id == 7
    assert converter.unstructure(book) == item
    assert view_type("books-rpi") is RpiBookData
    assert view_type("books") is BookData
    assert view_type("books-elp") is None
