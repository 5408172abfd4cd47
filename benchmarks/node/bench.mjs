// okx-api (Node) side of the okx_trio benchmarks; run by benchmarks/peers.py.
//
//   node bench.mjs rtt  <base-url> <n> <instIdCode> <key> <secret> <pass>
//   node bench.mjs push <base-url> <n> <instIdCode> <key> <secret> <pass>
//
// rtt: WebsocketAPIClient.submitNewOrder awaited n times (after a warm-up);
//      prints {"value": seconds per round trip, "cpu": client CPU seconds per op}.
// push: WebsocketClient.subscribe(tickers) and count n "update" events, reading
//      one field of each; prints {"value": pushes per second, "cpu": ...}.
// Every URL override points at the benchmark server (wsUrl); the library's own
// logger is silenced so console output does not cost time.
import { WebsocketAPIClient, WebsocketClient } from 'okx-api';

const [mode, baseUrl, nText, codeText, apiKey, apiSecret, apiPass] = process.argv.slice(2);
const n = Number(nText);
const instIdCode = Number(codeText);
const WARMUP = 50;
const quiet = { trace() {}, info() {}, error() {} };

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function rtt() {
  const api = new WebsocketAPIClient(
    {
      accounts: [{ apiKey, apiSecret, apiPass }],
      wsUrl: `${baseUrl}/ws/v5/private`,
      attachEventListeners: false,
    },
    quiet,
  );
  const order = {
    instIdCode, tdMode: 'cash', side: 'buy', ordType: 'ioc', sz: '0.0001', px: '30000',
  };
  let counter = 0;
  const one = async () => {
    counter += 1;
    const res = await api.submitNewOrder({ ...order, clOrdId: `nd${counter}` });
    if (res.code !== '0') throw new Error(`order refused: ${JSON.stringify(res)}`);
  };
  for (let i = 0; i < WARMUP; i++) await one();
  const cpu0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await one();
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = (cpuSeconds() - cpu0) / n;
  api.getWSClient().closeAll(true);
  return { value: elapsed / n, cpu };
}

function push() {
  return new Promise((resolve, reject) => {
    const ws = new WebsocketClient({ wsUrl: `${baseUrl}/ws/v5/public` }, quiet);
    let count = 0;
    let t0 = 0n;
    let cpu0 = 0;
    let sink = null;
    ws.on('update', (event) => {
      if (!event.data) return;
      sink = event.data[0].last;
      count += 1;
      if (count === 1) {
        t0 = process.hrtime.bigint();
        cpu0 = cpuSeconds();
      }
      if (count === n) {
        const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
        const cpu = (cpuSeconds() - cpu0) / (n - 1);
        ws.closeAll(true);
        resolve({ value: (n - 1) / elapsed, cpu, last: sink });
      }
    });
    ws.on('exception', (e) => reject(new Error(JSON.stringify(e))));
    ws.subscribe({ channel: 'tickers', instId: 'BTC-USDT' });
  });
}

const result = mode === 'rtt' ? await rtt() : await push();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
