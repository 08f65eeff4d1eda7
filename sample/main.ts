import { fork, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { Collector } from './collector';

/**
 * The sample system: a `gateway` (HTTP) calls an `orders` service over TCP, which
 * tells an `inventory` service about each order over NATS or Redis when one runs on
 * 127.0.0.1 (TCP otherwise). Each service is its own process with its own
 * `startTracing()`; their spans come to this process's collector, which prints each
 * trace as one waterfall. `npm run sample -- --serve` keeps the system running.
 */
const SERVICES = ['inventory', 'orders', 'gateway'] as const;
const serve = process.argv.includes('--serve');

async function main(): Promise<void> {
  const collector = new Collector();
  const collectorUrl = await collector.start();
  const eventTransport = (await reachable(4222)) ? 'nats' : (await reachable(6379)) ? 'redis' : 'tcp';
  const env = {
    ...process.env,
    SAMPLE_COLLECTOR_URL: collectorUrl,
    SAMPLE_GATEWAY_PORT: String(await freePort()),
    SAMPLE_ORDERS_PORT: String(await freePort()),
    SAMPLE_INVENTORY_PORT: String(await freePort()),
    SAMPLE_EVENT_TRANSPORT: eventTransport,
  };
  const children: ChildProcess[] = [];
  for (const service of SERVICES) {
    children.push(await start(service, { ...env, SAMPLE_SERVICE: service }));
  }
  const gateway = `http://127.0.0.1:${env.SAMPLE_GATEWAY_PORT}`;
  console.log(`gateway on ${gateway}, orders over TCP, order events over ${eventTransport}\n`);

  const requests: [string, Record<string, string>][] = [
    ['/orders/1', { 'x-api-key': 'sample', 'x-request-id': 'req-1' }],
    ['/orders/7', { 'x-api-key': 'sample' }],
    ['/orders/13', { 'x-api-key': 'sample' }],
    ['/orders/abc', { 'x-api-key': 'sample' }],
    ['/orders/1', {}],
  ];
  for (const [path, headers] of requests) {
    const response = await fetch(`${gateway}${path}`, { headers });
    const body = await response.text();
    console.log(`GET ${path} -> ${response.status} ${body}  (traceresponse ${response.headers.get('traceresponse')})`);
  }
  if (serve) {
    console.log(`\nServing until Ctrl-C: curl -H 'x-api-key: sample' ${gateway}/orders/1`);
    process.once('SIGINT', () => void stopAll(children, collector));
    return;
  }
  // Let the inventory's background job run once, then collect every service's spans.
  await new Promise((resolve) => setTimeout(resolve, 1600));
  await Promise.all(children.map((child) => request(child, 'flush', 'flushed')));
  console.log('');
  for (const waterfall of collector.waterfalls(process.stdout.isTTY === true && process.env.NO_COLOR === undefined)) {
    console.log(waterfall);
  }
  await stopAll(children, collector);
}

function start(service: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = fork(join(__dirname, 'services', `${service}.js`), [], { env });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the ${service} service exited with ${code} before it was ready`)));
    child.once('message', (message) => message === 'ready' && resolve(child));
  });
}

function request(child: ChildProcess, message: string, answer: string): Promise<void> {
  return new Promise((resolve) => {
    child.on('message', (received) => received === answer && resolve());
    child.send(message);
  });
}

async function stopAll(children: ChildProcess[], collector: Collector): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.removeAllListeners('exit');
          // On Ctrl-C the terminal signals the services too: they may be gone already.
          if (child.exitCode !== null || !child.connected) {
            resolve();
            return;
          }
          child.once('exit', () => resolve());
          child.send('stop');
        }),
    ),
  );
  await collector.close();
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 500 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
