// A dead or slow tracing backend changes nothing for the app: the same traced gateway
// (load-server.ts, each in its own process with its own SDK) exports over OTLP to a
// closed port, to a server that accepts and never answers, to one that answers 500,
// and, for reference, to one that answers 200; the baseline exports to an exporter
// that discards. Each gets the same load, alternated in rounds; every answer must be a
// 200 with the right body. Latency and throughput are reported, not asserted. Memory
// must stay bounded (the batch processor queues at most 2048 spans and drops the rest;
// see the last test for the exports it keeps in flight), and SIGTERM must end each
// process within its flush cap (3 s, asserted < 10 s). LOAD_ROUNDS=1 for a quick run.
import { trace } from '@opentelemetry/api';
import { startTracing } from 'nestjs-tracing/sdk';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { freePort } from '../helpers';
import { median, mb, runLoad, startLoadServer, type Exit, type LoadResult, type LoadServer } from './load-harness';
import type { Measure } from './load-server';

const ROUNDS = Number(process.env.LOAD_ROUNDS ?? 3);
const REQUESTS_PER_ROUND = 2_000;
const WARMUP_REQUESTS = 500;
const CONNECTIONS = 10;
/** How far the heap (after a full GC) of a setup with a dead backend may be above the baseline's. */
const HEAP_MARGIN_MB = 30;
/** How much the heap of any setup may grow from the first round to the last (the queue is full after the first). */
const HEAP_GROWTH_MARGIN_MB = 10;
/** The SDK's flush on SIGTERM gives up after 3 s; the process must be gone well before this. */
const EXIT_LIMIT_MS = 10_000;

const SETUPS = ['baseline', 'healthy', 'closed port', 'never answers', 'answers 500'] as const;
type Setup = (typeof SETUPS)[number];

/** A loopback OTLP "backend" and what it saw. */
interface Backend {
  url: string;
  /** Connections accepted (silent backend), or export requests received. */
  hits: number;
  /** Exports in progress at once, at most: open connections (silent), unanswered requests (answering). */
  maxConcurrent: number;
  close(): Promise<void>;
}

/** A server that accepts connections, reads what comes, and never answers. */
async function startSilentBackend(): Promise<Backend> {
  const sockets = new Set<Socket>();
  const backend: Backend = { url: '', hits: 0, maxConcurrent: 0, close: async () => undefined };
  const server = createNetServer((socket) => {
    backend.hits++;
    sockets.add(socket);
    backend.maxConcurrent = Math.max(backend.maxConcurrent, sockets.size);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  backend.close = () => {
    for (const socket of sockets) {
      socket.destroy();
    }
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return backend;
}

/** An HTTP server that reads each export and answers it with `status` and no body, after `delayMs`. */
async function startAnsweringBackend(status: number, delayMs = 0): Promise<Backend> {
  const backend: Backend = { url: '', hits: 0, maxConcurrent: 0, close: async () => undefined };
  let inProgress = 0;
  const server: Server = createHttpServer((request, response) => {
    backend.hits++;
    backend.maxConcurrent = Math.max(backend.maxConcurrent, ++inProgress);
    request.resume();
    request.on('end', () =>
      setTimeout(() => {
        inProgress--;
        response.writeHead(status, { 'content-type': 'application/x-protobuf' }).end();
      }, delayMs),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  backend.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return backend;
}

describe('a dead or slow OTLP backend changes nothing for the app', () => {
  const backends = new Map<Setup, Backend>();
  const servers = new Map<Setup, LoadServer>();
  const results = new Map<Setup, LoadResult[]>(SETUPS.map((setup) => [setup, []]));
  const firstRound = new Map<Setup, Measure>();
  const lastRound = new Map<Setup, Measure>();
  const exits = new Map<Setup, Exit>();

  beforeAll(async () => {
    backends.set('healthy', await startAnsweringBackend(200));
    backends.set('closed port', {
      url: `http://127.0.0.1:${await freePort()}`,
      hits: 0,
      maxConcurrent: 0,
      close: async () => undefined,
    });
    backends.set('never answers', await startSilentBackend());
    backends.set('answers 500', await startAnsweringBackend(500));
    const started = await Promise.all(
      SETUPS.map((setup) => {
        const backend = backends.get(setup);
        return startLoadServer(setup, backend === undefined ? {} : { LOAD_OTLP_ENDPOINT: backend.url });
      }),
    );
    started.forEach((server, index) => servers.set(SETUPS[index], server));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...servers.values()].map((server) => server.stop(5_000)));
    await Promise.all([...backends.values()].map((backend) => backend.close()));
  });

  it('answers every request with 200 and the right body, whatever the backend does', async () => {
    for (const setup of SETUPS) {
      const warmup = await runLoad(servers.get(setup)!.url, WARMUP_REQUESTS, CONNECTIONS);
      expect({ setup, ok: warmup.ok }).toEqual({ setup, ok: WARMUP_REQUESTS });
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order every round, so that no setup always runs first or last.
      const order = SETUPS.map((_, index) => SETUPS[(index + round) % SETUPS.length]);
      for (const setup of order) {
        const result = await runLoad(servers.get(setup)!.url, REQUESTS_PER_ROUND, CONNECTIONS);
        results.get(setup)!.push(result);
        expect({ setup, ...result }).toMatchObject({
          setup,
          requests: REQUESTS_PER_ROUND,
          ok: REQUESTS_PER_ROUND,
          non2xx: 0,
          errors: 0,
          timeouts: 0,
          mismatches: 0,
        });
      }
      if (round === 0 || round === ROUNDS - 1) {
        for (const setup of SETUPS) {
          const measure = await servers.get(setup)!.measure();
          if (round === 0) {
            firstRound.set(setup, measure);
          }
          lastRound.set(setup, measure);
        }
      }
    }
    // Each backend really was tried: connections accepted, exports answered.
    expect(backends.get('healthy')!.hits).toBeGreaterThan(0);
    expect(backends.get('never answers')!.hits).toBeGreaterThan(0);
    expect(backends.get('answers 500')!.hits).toBeGreaterThan(0);
    // And the baseline exported every span: 4 per request.
    const requests = WARMUP_REQUESTS + ROUNDS * REQUESTS_PER_ROUND;
    expect(lastRound.get('baseline')!.handled.requests).toBe(requests);
    expect((await servers.get('baseline')!.measure(true)).spans.exported).toBe(4 * requests);
  }, 180_000);

  it('keeps the heap bounded: the spans a dead backend cannot take are dropped, not piled up', () => {
    const baseline = lastRound.get('baseline')!.memory.heapUsed;
    const aboveBaselineMb = SETUPS.map((setup) => [setup, mb(lastRound.get(setup)!.memory.heapUsed - baseline)]);
    const growthMb = SETUPS.map((setup) => [
      setup,
      mb(lastRound.get(setup)!.memory.heapUsed - firstRound.get(setup)!.memory.heapUsed),
    ]);
    expect(aboveBaselineMb.filter(([, above]) => (above as number) > HEAP_MARGIN_MB)).toEqual([]);
    expect(growthMb.filter(([, growth]) => (growth as number) > HEAP_GROWTH_MARGIN_MB)).toEqual([]);
    // The SDK's queue is capped (2048 spans by default); read from its internals for as long as they are there.
    const queued = SETUPS.map((setup) => [setup, lastRound.get(setup)!.queued]);
    expect(queued.filter(([, lengths]) => (lengths as number[]).some((length) => length > 2048))).toEqual([]);
  });

  it('exits within its flush cap on SIGTERM, even when the backend never answers', async () => {
    const stopped = await Promise.all(SETUPS.map((setup) => servers.get(setup)!.stop(EXIT_LIMIT_MS + 5_000)));
    stopped.forEach((exit, index) => exits.set(SETUPS[index], exit));
    // Ended by the signal, as without tracing (or exit code 0), in time, not killed.
    const unclean = SETUPS.map((setup) => [setup, exits.get(setup)!] as const).filter(
      ([, exit]) => exit.killed || exit.ms >= EXIT_LIMIT_MS || !(exit.signal === 'SIGTERM' || exit.code === 0),
    );
    expect(unclean).toEqual([]);
  }, 30_000);

  afterAll(() => {
    if (lastRound.size < SETUPS.length) {
      return;
    }
    const baseline = results.get('baseline')!;
    const lines = SETUPS.map((setup) => {
      const runs = results.get(setup)!;
      const ratio = median(runs.map((run, round) => run.requestsPerSecond / baseline[round].requestsPerSecond));
      const memory = lastRound.get(setup)!.memory;
      return [
        setup.padEnd(14),
        String(median(runs.map((run) => run.requestsPerSecond))).padStart(6),
        ratio.toFixed(2).padStart(6),
        String(median(runs.map((run) => run.p50))).padStart(4),
        String(median(runs.map((run) => run.p99))).padStart(4),
        mb(memory.heapUsed).toFixed(1).padStart(8),
        mb(memory.heapUsed - firstRound.get(setup)!.memory.heapUsed)
          .toFixed(1)
          .padStart(7),
        mb(memory.rss).toFixed(0).padStart(6),
        String(lastRound.get(setup)!.queued.join('/') || '-').padStart(6),
        String(exits.get(setup)?.ms ?? '-').padStart(7),
        String(backends.get(setup)?.maxConcurrent || '-').padStart(10),
      ].join('  ');
    });
    console.log(
      [
        `Dead backends: ${ROUNDS} rounds x ${REQUESTS_PER_ROUND} requests per setup (after ${WARMUP_REQUESTS} of warm-up), ` +
          `${CONNECTIONS} connections, GET /orders/1 = HTTP + TCP microservice call, 4 spans per request; medians over the rounds`,
        'setup            req/s  ratio  p50  p99  heap MB  growth  RSS MB  queued  exit ms  at once(*)',
        ...lines,
        '(*) exports in progress at once, as the backend saw them (open connections, unanswered requests)',
      ].join('\n'),
    );
  });
});

describe('startTracing() with a failing OTLP backend', () => {
  // FINDING (upstream, @opentelemetry/sdk-trace 2.12 BatchSpanProcessorBase._maybeStartTimer):
  // after a failed export, `.finally()` starts the next batch and the `.catch()` chained
  // after it then clears `_isExporting`, so the next span that ends starts yet another
  // export. A failing backend thus gets many exports at once (up to the OTLP exporter's
  // concurrencyLimit, 30, of 512 spans each) although the spec says Export() is never
  // called concurrently; a working one gets one at a time. Memory stays bounded, but by
  // 2048 + 30 x 512 spans instead of 2048 + 512. `it.failing` until startTracing()
  // guards against it (see the report); then make it an `it`.
  it.failing(
    'sends one export at a time to a backend that fails slowly',
    async () => {
      const backend = await startAnsweringBackend(500, 200);
      const handle = startTracing({ exporter: 'otlp', otlpEndpoint: backend.url, flushOnSignals: false });
      // Read before the shutdown, whose flush sends every queued batch at once by design.
      let atOnceWhileRunning = 0;
      try {
        const tracer = trace.getTracer('dead-backends');
        const until = performance.now() + 3_000;
        while (performance.now() < until) {
          for (let i = 0; i < 20; i++) {
            tracer.startSpan('busy').end();
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        atOnceWhileRunning = backend.maxConcurrent;
      } finally {
        // Its flush to this backend fails: shutdown() rejects, as it says.
        await handle.shutdown().catch(() => undefined);
        await backend.close();
      }
      expect(backend.hits).toBeGreaterThan(1);
      expect(atOnceWhileRunning).toBe(1);
    },
    20_000,
  );
});
