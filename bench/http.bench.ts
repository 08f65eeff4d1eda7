// What tracing costs an HTTP app: each variant serves GET /users/:id in its own
// process, driven by autocannon from this one; variants alternate within each round,
// the table shows medians over the rounds, each also as a ratio to the untraced app of
// the same adapter in the same round. Run: npm run bench:http (BENCH_SMOKE=1: a few
// seconds, to check the harness; BENCH_VARIANTS=a,b: only those variants, with the
// untraced baselines they are compared with).
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuMicrosPer, cpuTicks, freePort, median, peakRssKb, spanCount } from './driver';
import { VARIANTS, type Variant } from './http-server';

const SMOKE = process.env.BENCH_SMOKE === '1';
const ROUNDS = SMOKE ? 1 : 5;
const WARMUP_SECONDS = SMOKE ? 0.5 : 3;
const REQUESTS = SMOKE ? 500 : 40_000;
const CONNECTIONS = 10;

/** The baseline a variant's ratios are computed against: the untraced app on the same adapter. */
const baselineOf = (variant: Variant): Variant => (variant.endsWith('-fastify') ? 'untraced-fastify' : 'untraced');

/** The variants BENCH_VARIANTS names (comma-separated) and their baselines, else all of them. */
function selectedVariants(): Variant[] {
  const named = process.env.BENCH_VARIANTS?.split(',').map((name) => name.trim());
  if (named === undefined) {
    return [...VARIANTS];
  }
  const unknown = named.filter((name) => !(VARIANTS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(`Unknown variant(s) in BENCH_VARIANTS: ${unknown.join(', ')} (known: ${VARIANTS.join(', ')})`);
  }
  const wanted = new Set(named.flatMap((name) => [name as Variant, baselineOf(name as Variant)]));
  return VARIANTS.filter((variant) => wanted.has(variant));
}

interface Measure {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  peakRssMb: number;
  spansPerRequest: number;
}

async function main(): Promise<void> {
  const variants = selectedVariants();
  const rounds: Record<string, Measure[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order each round so no variant always runs first.
    const order = round % 2 === 0 ? [...variants] : [...variants].reverse();
    for (const variant of order) {
      (rounds[variant] ??= []).push(await measure(variant));
    }
  }
  const rows = variants.map((variant) => {
    const baseline = baselineOf(variant);
    const ratios = rounds[variant].map((measured, round) => ({
      requestsPerSecond: measured.requestsPerSecond / rounds[baseline][round].requestsPerSecond,
      cpu: measured.cpuMicrosPerRequest / rounds[baseline][round].cpuMicrosPerRequest,
      rss: measured.peakRssMb / rounds[baseline][round].peakRssMb,
    }));
    return {
      variant,
      spansPerRequest: median(rounds[variant].map((m) => m.spansPerRequest)),
      requestsPerSecond: median(rounds[variant].map((m) => m.requestsPerSecond)),
      requestsPerSecondRatio: median(ratios.map((r) => r.requestsPerSecond)),
      p50: median(rounds[variant].map((m) => m.p50)),
      p99: median(rounds[variant].map((m) => m.p99)),
      cpuMicrosPerRequest: median(rounds[variant].map((m) => m.cpuMicrosPerRequest)),
      cpuRatio: median(ratios.map((r) => r.cpu)),
      peakRssMb: median(rounds[variant].map((m) => m.peakRssMb)),
      rssRatio: median(ratios.map((r) => r.rss)),
    };
  });
  console.log(
    `HTTP GET /users/:id, ${ROUNDS} round(s) of ${REQUESTS} requests, ${CONNECTIONS} connections, Node ${process.version}`,
  );
  console.table(
    rows.map((row) => ({
      variant: row.variant,
      'spans/req': row.spansPerRequest.toFixed(2),
      'req/s': Math.round(row.requestsPerSecond),
      'req/s ratio': row.requestsPerSecondRatio.toFixed(2),
      'p50 ms': row.p50,
      'p99 ms': row.p99,
      'CPU µs/req': Math.round(row.cpuMicrosPerRequest),
      'CPU ratio': row.cpuRatio.toFixed(2),
      'peak RSS MB': row.peakRssMb.toFixed(0),
      'RSS ratio': row.rssRatio.toFixed(2),
    })),
  );
  const results = join(__dirname, '..', 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(
    join(results, 'http.json'),
    JSON.stringify(
      { date: new Date().toISOString(), node: process.version, smoke: SMOKE, rounds: ROUNDS, requests: REQUESTS, rows },
      null,
      2,
    ),
  );
}

async function measure(variant: Variant): Promise<Measure> {
  const port = await freePort();
  const server = await startServer(variant, port);
  try {
    const url = `http://127.0.0.1:${port}/users/42`;
    await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_SECONDS });
    const spansBefore = await spanCount(server);
    const cpuBefore = cpuTicks(server.pid!);
    const { result, seconds } = await timedLoad(url);
    const cpuTicksUsed = cpuTicks(server.pid!) - cpuBefore;
    const spans = (await spanCount(server)) - spansBefore;
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${variant}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
    }
    return {
      requestsPerSecond: result.requests.total / seconds,
      p50: result.latency.p50,
      p99: result.latency.p99,
      cpuMicrosPerRequest: cpuMicrosPer(cpuTicksUsed, result.requests.total),
      peakRssMb: peakRssKb(server.pid!) / 1024,
      spansPerRequest: spans / result.requests.total,
    };
  } finally {
    server.kill();
  }
}

/**
 * Sends the measured requests; `seconds` runs to the last response. autocannon itself
 * notices that it is done only on its one-second tick, so its own duration (and any
 * duration taken around it) rounds the run up to whole seconds.
 */
async function timedLoad(url: string): Promise<{ result: autocannon.Result; seconds: number }> {
  const started = performance.now();
  let lastResponse = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, connections: CONNECTIONS, amount: REQUESTS }, (error, finished) =>
      error ? reject(error) : resolve(finished),
    );
    instance.on('response', () => {
      lastResponse = performance.now();
    });
  });
  return { result, seconds: (lastResponse - started) / 1000 };
}

function startServer(variant: Variant, port: number): Promise<ChildProcess> {
  const child = fork(join(__dirname, 'http-server.js'), [], {
    env: { ...process.env, BENCH_VARIANT: variant, BENCH_PORT: String(port) },
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}`)));
    child.once('message', (message) => message === 'ready' && resolve(child));
  });
}

void main();
