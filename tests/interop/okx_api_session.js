// A trading session with the unmodified okx-api SDK (Node) against the okx_trio
// simulator. Driven by test_okx_api.py, which starts the simulator CLI and passes
// its URLs and credentials in the environment. Prints one JSON object with what
// happened; the Python test asserts on it.
//
// okx-api is pointed at the simulator only through its documented options:
// `wsUrl` (one URL per client, so one client per path) and the REST `baseUrl`.
'use strict';

const { RestClient, WebsocketClient, WebsocketAPIClient } = require('okx-api');

const BASE = process.env.SIM_BASE_URL;
const REST = process.env.SIM_REST_URL;
const accounts = [
  {
    apiKey: process.env.SIM_API_KEY,
    apiSecret: process.env.SIM_SECRET_KEY,
    apiPass: process.env.SIM_PASSPHRASE,
  },
];

// Quiet logger: okx-api logs every event at info level otherwise.
const logger = {
  trace: () => {},
  info: () => {},
  error: (...args) => console.error('okx-api error:', ...args),
};

const out = { steps: {}, errors: [] };

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function waitFor(emitter, event, predicate, ms, what) {
  return withTimeout(
    new Promise((resolve) => {
      const listener = (data) => {
        if (predicate(data)) {
          emitter.off(event, listener);
          resolve(data);
        }
      };
      emitter.on(event, listener);
    }),
    ms,
    what,
  );
}

// The response's first item, for the record.
function item(res) {
  const d = res && res.data && res.data[0];
  return d ? { code: res.code, sCode: d.sCode, sMsg: d.sMsg, ordId: d.ordId, clOrdId: d.clOrdId } : res;
}

async function main() {
  // --- REST (public and signed) ---
  const rest = new RestClient({ ...accounts[0], baseUrl: REST });
  const time = await rest.getServerTime();
  out.steps.rest_time = Number(time) > 0;
  const instruments = await rest.getInstruments({ instType: 'SPOT' });
  const btc = instruments.find((i) => i.instId === 'BTC-USDT');
  out.steps.rest_inst_id_code = btc ? btc.instIdCode : null;
  // Order ops name the instrument by instIdCode, as OKX requires since March 2026.
  const code = btc.instIdCode;
  const books = await rest.getOrderBook({ instId: 'BTC-USDT', sz: '5' });
  const bestBid = Number(books[0].bids[0][0]);
  // Resting buy prices, inside OKX's price band but well below the market.
  const px = (f) => (Math.floor(bestBid * f * 10) / 10).toFixed(1);

  // --- Public WebSocket: a ticker subscription ---
  const pub = new WebsocketClient({ wsUrl: `${BASE}/ws/v5/public` }, logger);
  const tickerPush = waitFor(
    pub, 'update', (e) => e.arg && e.arg.channel === 'tickers' && Array.isArray(e.data),
    8000, 'ticker push',
  );
  pub.subscribe({ channel: 'tickers', instId: 'BTC-USDT' });
  const ticker = await tickerPush;
  out.steps.ticker = { instId: ticker.data[0].instId, last: ticker.data[0].last };

  // --- Trade API on /ws/v5/private: the 7 private methods ---
  const api = new WebsocketAPIClient(
    { accounts, wsUrl: `${BASE}/ws/v5/private`, attachEventListeners: false }, logger,
  );
  const ws = api.getWSClient();
  const authed = waitFor(ws, 'authenticated', () => true, 8000, 'private login');
  const ordersPush = waitFor(
    ws, 'update', (e) => e.arg && e.arg.channel === 'orders' && e.data[0].state === 'canceled',
    8000, 'orders push',
  );
  await api.connectWSAPI();
  await authed;
  out.steps.login = true;
  ws.subscribe({ channel: 'orders', instType: 'ANY' });

  const placed = await api.submitNewOrder({
    instIdCode: code, tdMode: 'cash', side: 'buy', ordType: 'limit',
    px: px(0.98), sz: '0.001', clOrdId: 'node1',
  });
  out.steps.submitNewOrder = item(placed);
  const ordId = placed.data[0].ordId;

  const batch = await api.submitMultipleOrders([
    { instIdCode: code, tdMode: 'cash', side: 'buy', ordType: 'limit', px: px(0.97), sz: '0.001', clOrdId: 'node2' },
    { instIdCode: code, tdMode: 'cash', side: 'buy', ordType: 'limit', px: px(0.96), sz: '0.001', clOrdId: 'node3' },
  ]);
  out.steps.submitMultipleOrders = batch.data.map((d) => d.sCode);

  const amended = await api.amendOrder({ instIdCode: code, ordId, newPx: px(0.975), reqId: 'am1' });
  out.steps.amendOrder = item(amended);

  const amendedBatch = await api.amendMultipleOrders([
    { instIdCode: code, clOrdId: 'node2', newSz: '0.002' },
    { instIdCode: code, clOrdId: 'node3', newSz: '0.002' },
  ]);
  out.steps.amendMultipleOrders = amendedBatch.data.map((d) => d.sCode);

  const canceled = await api.cancelOrder({ instIdCode: code, ordId });
  out.steps.cancelOrder = item(canceled);
  try {
    const again = await api.cancelOrder({ instIdCode: code, ordId });
    out.steps.cancelOrderAgain = { unexpectedSuccess: item(again) };
  } catch (e) {
    out.steps.cancelOrderAgain = item(e);
  }

  const canceledBatch = await api.cancelMultipleOrders([
    { instIdCode: code, clOrdId: 'node2' },
    { instIdCode: code, clOrdId: 'node3' },
  ]);
  out.steps.cancelMultipleOrders = canceledBatch.data.map((d) => d.sCode);

  const mass = await api.massCancelOrders({ instType: 'OPTION', instFamily: 'BTC-USD' });
  out.steps.massCancelOrders = { code: mass.code, result: mass.data[0].result };

  const push = await ordersPush;
  out.steps.orders_push = { state: push.data[0].state, uid: push.arg.uid || null };

  // --- Trade API on /ws/v5/business: the 4 spread methods ---
  const biz = new WebsocketAPIClient(
    { accounts, wsUrl: `${BASE}/ws/v5/business`, attachEventListeners: false }, logger,
  );
  await biz.connectWSAPI();
  const sprdId = 'BTC-USDT_BTC-USDT-SWAP';
  const sp = await biz.submitSpreadOrder({
    sprdId, clOrdId: 'nodes1', side: 'buy', ordType: 'limit', px: '1', sz: '0.01',
  });
  out.steps.submitSpreadOrder = item(sp);
  const spOrdId = sp.data[0].ordId;
  const spAmend = await biz.amendSpreadOrder({ ordId: spOrdId, newSz: '0.02', reqId: 'spam1' });
  out.steps.amendSpreadOrder = item(spAmend);
  const spCancel = await biz.cancelSpreadOrder({ ordId: spOrdId });
  out.steps.cancelSpreadOrder = item(spCancel);
  const spMass = await biz.massCancelSpreadOrders({ sprdId });
  out.steps.massCancelSpreadOrders = { code: spMass.code, result: spMass.data[0].result };

  // --- Signed REST: the order's final state ---
  const detail = await rest.getOrderDetails({ instId: 'BTC-USDT', ordId });
  out.steps.rest_order_state = detail[0].state;
  const pending = await rest.getOrderList({ instType: 'SPOT' });
  out.steps.rest_pending = pending.length;

  pub.closeAll(true);
  ws.closeAll(true);
  biz.getWSClient().closeAll(true);
}

withTimeout(main(), 15000, 'whole session')
  .catch((e) => {
    out.errors.push(e && e.message ? e.message : JSON.stringify(e));
  })
  .finally(() => {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    // okx-api keeps reconnect timers around; the result is printed, so leave now.
    process.exit(0);
  });
