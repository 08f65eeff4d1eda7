// What tracing costs a Nest microservice: messages per second and CPU per message of
// `send('sum', …)` over TCP, Redis and NATS, untraced and traced (a CLIENT span in the
// client, a SERVER span in the microservice). Each variant runs its microservice
// (microservices-server.ts) and its client (microservices-client.ts) in two processes
// of their own, the client keeping a fixed number of messages in flight; variants
// alternate within each round, the table shows medians over the rounds, each also as
// a ratio to the untraced variant of the same transport in the same round.
// Run: npm run bench:microservices (BENCH_SMOKE=1: a few seconds, to check the harness;
// BENCH_ROUNDS=n: n rounds; BENCH_TRANSPORTS=tcp,nats: only those transports). Redis and
// NATS must be running locally (bash .ci/brokers.sh).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { cpuMicrosPer, cpuTicks, freePort, median, peakRssKb, spanCount } from './driver';
import type { RunRequest, RunResult } from './microservices-client';
import { BROKERS, TRANSPORTS, VARIANTS, type TransportName, type Variant } from './microservices-server';

const SMOKE = process.env.BENCH_SMOKE === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (SMOKE ? 1 : 5));
const WARMUP_SECONDS = SMOKE ? 0.3 : 2;
const MESSAGES = SMOKE ? 500 : 20_000;
const CONCURRENCY = 10;
/** How long a process may take to start, and a measure to finish, before the run fails. */
const START_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = SMOKE ? 60_000 : 300_000;
/** The target for traced TCP `send`, as a ratio of untraced msgs/s (reported, not asserted). */
const TCP_TARGET = 0.9;

interface Case {
  transport: TransportName;
  variant: Variant;
}

interface Measure {
  messagesPerSecond: number;
  p50: number;
  p99: number;
  serverCpuMicrosPerMessage: number;
  clientCpuMicrosPerMessage: number;
  serverPeakRssMb: number;
  clientPeakRssMb: number;
  clientSpansPerMessage: number;
  serverSpansPerMessage: number;
}

const nameOf = ({ transport, variant }: Case): string => `${transport} ${variant}`;

/** The processes of the variant being measured, killed should the driver fail. */
const running = new Set<ChildProcess>();

async function main(): Promise<void> {
  const cases: Case[] = selectedTransports().flatMap((transport) =>
    VARIANTS.map((variant) => ({ transport, variant })),
  );
  if (!(Number.isInteger(ROUNDS) && ROUNDS > 0)) {
    throw new Error(`BENCH_ROUNDS must be a positive integer, not ${process.env.BENCH_ROUNDS}`);
  }
  for (const transport of new Set(cases.map((measured) => measured.transport))) {
    if (transport !== 'tcp') {
      await requireBroker(transport);
    }
  }
  const rounds: Record<string, Measure[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order each round so no variant always runs first.
    const order = round % 2 === 0 ? [...cases] : [...cases].reverse();
    for (const measured of order) {
      (rounds[nameOf(measured)] ??= []).push(await measure(measured));
    }
  }
  const rows = cases.map((row) => {
    const own = rounds[nameOf(row)];
    const baseline = rounds[nameOf({ transport: row.transport, variant: 'untraced' })];
    const ratio = (pick: (m: Measure) => number) => median(own.map((m, round) => pick(m) / pick(baseline[round])));
    const mid = (pick: (m: Measure) => number) => median(own.map(pick));
    return {
      transport: row.transport,
      variant: row.variant,
      spansPerMessage: mid((m) => m.clientSpansPerMessage + m.serverSpansPerMessage),
      clientSpansPerMessage: mid((m) => m.clientSpansPerMessage),
      serverSpansPerMessage: mid((m) => m.serverSpansPerMessage),
      messagesPerSecond: mid((m) => m.messagesPerSecond),
      messagesPerSecondRatio: ratio((m) => m.messagesPerSecond),
      p50: mid((m) => m.p50),
      p99: mid((m) => m.p99),
      serverCpuMicrosPerMessage: mid((m) => m.serverCpuMicrosPerMessage),
      serverCpuRatio: ratio((m) => m.serverCpuMicrosPerMessage),
      clientCpuMicrosPerMessage: mid((m) => m.clientCpuMicrosPerMessage),
      clientCpuRatio: ratio((m) => m.clientCpuMicrosPerMessage),
      serverPeakRssMb: mid((m) => m.serverPeakRssMb),
      serverRssRatio: ratio((m) => m.serverPeakRssMb),
      clientPeakRssMb: mid((m) => m.clientPeakRssMb),
      clientRssRatio: ratio((m) => m.clientPeakRssMb),
    };
  });
  console.log(
    `Microservices send('sum'), ${ROUNDS} round(s) of ${MESSAGES} messages, ${CONCURRENCY} in flight, Node ${process.version}`,
  );
  console.table(
    rows.map((row) => ({
      variant: `${row.transport} ${row.variant}`,
      'spans/msg': row.spansPerMessage.toFixed(2),
      'cli+srv': `${row.clientSpansPerMessage.toFixed(2)}+${row.serverSpansPerMessage.toFixed(2)}`,
      'msgs/s': Math.round(row.messagesPerSecond),
      'msgs/s ratio': row.messagesPerSecondRatio.toFixed(2),
      'p50 ms': row.p50.toFixed(2),
      'p99 ms': row.p99.toFixed(2),
      'srv CPU µs/msg': Math.round(row.serverCpuMicrosPerMessage),
      'srv CPU ratio': row.serverCpuRatio.toFixed(2),
      'cli CPU µs/msg': Math.round(row.clientCpuMicrosPerMessage),
      'cli CPU ratio': row.clientCpuRatio.toFixed(2),
      'srv RSS MB': row.serverPeakRssMb.toFixed(0),
      'cli RSS MB': row.clientPeakRssMb.toFixed(0),
      'RSS ratio srv/cli': `${row.serverRssRatio.toFixed(2)}/${row.clientRssRatio.toFixed(2)}`,
    })),
  );
  const tcpTraced = rows.find((row) => row.transport === 'tcp' && row.variant === 'traced');
  if (tcpTraced !== undefined) {
    console.log(
      `traced TCP send: ${tcpTraced.messagesPerSecondRatio.toFixed(2)} of untraced msgs/s (target >= ${TCP_TARGET.toFixed(2)}, measured, not asserted)`,
    );
  }
  const results = join(__dirname, '..', 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(
    join(results, 'microservices.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        smoke: SMOKE,
        rounds: ROUNDS,
        messages: MESSAGES,
        concurrency: CONCURRENCY,
        warmupSeconds: WARMUP_SECONDS,
        tcpTarget: TCP_TARGET,
        rows,
      },
      null,
      2,
    ),
  );
}

async function measure(measured: Case): Promise<Measure> {
  const name = nameOf(measured);
  const env = {
    ...process.env,
    BENCH_VARIANT: measured.variant,
    BENCH_TRANSPORT: measured.transport,
    BENCH_PORT: String(measured.transport === 'tcp' ? await freePort() : 0),
  };
  const server = await start(`${name} server`, 'microservices-server.js', env);
  try {
    const client = await start(`${name} client`, 'microservices-client.js', env);
    try {
      await runClient(name, client, server, { run: 'warmup', seconds: WARMUP_SECONDS, concurrency: CONCURRENCY });
      const [clientSpansBefore, serverSpansBefore] = await Promise.all([spanCount(client), spanCount(server)]);
      const clientCpuBefore = cpuTicks(client.pid!);
      const serverCpuBefore = cpuTicks(server.pid!);
      const result = await runClient(name, client, server, {
        run: 'measure',
        messages: MESSAGES,
        concurrency: CONCURRENCY,
      });
      const clientCpu = cpuTicks(client.pid!) - clientCpuBefore;
      const serverCpu = cpuTicks(server.pid!) - serverCpuBefore;
      const [clientSpansAfter, serverSpansAfter] = await Promise.all([spanCount(client), spanCount(server)]);
      if (result.replies !== MESSAGES) {
        throw new Error(`${name}: ${result.replies} replies to ${MESSAGES} messages`);
      }
      return {
        messagesPerSecond: result.replies / result.seconds,
        p50: result.p50,
        p99: result.p99,
        serverCpuMicrosPerMessage: cpuMicrosPer(serverCpu, result.replies),
        clientCpuMicrosPerMessage: cpuMicrosPer(clientCpu, result.replies),
        serverPeakRssMb: peakRssKb(server.pid!) / 1024,
        clientPeakRssMb: peakRssKb(client.pid!) / 1024,
        clientSpansPerMessage: (clientSpansAfter - clientSpansBefore) / result.replies,
        serverSpansPerMessage: (serverSpansAfter - serverSpansBefore) / result.replies,
      };
    } finally {
      await stop(client);
    }
  } finally {
    await stop(server);
  }
}

/** The transports BENCH_TRANSPORTS names (comma-separated), else all of them. */
function selectedTransports(): TransportName[] {
  const named = process.env.BENCH_TRANSPORTS?.split(',').map((name) => name.trim().toLowerCase());
  if (named === undefined || named.join('') === '') {
    return [...TRANSPORTS];
  }
  const unknown = named.filter((name) => !(TRANSPORTS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown transport(s) in BENCH_TRANSPORTS: ${unknown.join(', ')} (known: ${TRANSPORTS.join(', ')})`,
    );
  }
  return TRANSPORTS.filter((transport) => named.includes(transport));
}

/** Forks a benchmark process and resolves once it says it is ready. */
function start(name: string, file: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = fork(join(__dirname, file), [], { env });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${name} was not ready within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code ?? signal} before it was ready`));
    });
    child.once('message', (message) => {
      if (message === 'ready') {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

/** Has the client run `request`, failing should it, or the server, exit or take too long. */
function runClient(name: string, client: ChildProcess, server: ChildProcess, request: RunRequest): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      client.removeListener('message', listener);
      client.removeListener('exit', exited);
      server.removeListener('exit', exited);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${name}: the ${request.run} did not finish within ${RUN_TIMEOUT_MS / 1000} s`));
    }, RUN_TIMEOUT_MS);
    const exited = () => {
      done();
      reject(new Error(`${name}: a process exited during the ${request.run}`));
    };
    const listener = (message: unknown) => {
      if (typeof message === 'object' && message !== null && ('result' in message || 'error' in message)) {
        done();
        const answer = message as { result?: RunResult; error?: string };
        if (answer.error !== undefined) {
          reject(new Error(`${name}: the ${request.run} failed: ${answer.error}`));
        } else {
          resolve(answer.result!);
        }
      }
    };
    client.on('message', listener);
    client.once('exit', exited);
    server.once('exit', exited);
    client.send(request);
  });
}

/** Kills a process and waits for it to be gone, so it takes no CPU from the next variant. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill();
  });
}

/** Fails, naming the broker and how to start it, when it does not accept a connection within 2 s. */
async function requireBroker(transport: keyof typeof BROKERS): Promise<void> {
  const { host, port } = BROKERS[transport];
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host, port, timeout: 2000 });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('timeout', () => {
        socket.destroy();
        reject(new Error('it did not accept a connection within 2 s'));
      });
      socket.once('error', (error) => {
        socket.destroy();
        reject(error);
      });
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot reach the ${transport} broker at ${host}:${port} (${reason}): the ${transport} variants need it. ` +
        'Start the local brokers with `bash .ci/brokers.sh`.',
      { cause: error },
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  for (const child of running) {
    child.kill();
  }
  process.exitCode = 1;
});
