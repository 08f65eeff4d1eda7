// No leak over time: 200,000 requests through a traced gateway (load-server.ts, in its
// own process: HTTP on Express, then a TCP microservice call, then a @Traced()
// provider; 4 spans per request, exported to an exporter that counts and discards).
// After a warm-up and after the load (each time after a settle and a full GC), the
// server reports its memory, its active resources (timers, sockets, servers), the
// listeners on its HTTP server, on `process` and on its TCP client's socket, its open
// connections, and whether a sample of the RequestTrace, MessageTrace and span objects
// of the load (one in 1,000) is still alive. Everything must be as it was after the
// warm-up, within the margins below, and every span must have been exported.
import { mb, runLoad, startLoadServer, type LoadResult, type LoadServer } from './load-harness';
import type { Measure } from './load-server';

const WARMUP_REQUESTS = 10_000;
const REQUESTS = 200_000;
/** The load is sent in slices, with a measure after each, for the memory trend. */
const SLICE = 50_000;
const CONNECTIONS = 20;
const SPANS_PER_REQUEST = 4;
/** How much the heap (after a full GC) may grow over the 200,000 requests: a leak of 40 bytes a request or more fails. */
const HEAP_MARGIN_MB = 8;
/** How much the RSS may grow (the V8 heap reserves pages it keeps; allocator fragmentation). */
const RSS_MARGIN_MB = 64;

describe('no leak over 200,000 traced requests (HTTP + TCP microservice call)', () => {
  let server: LoadServer;
  let before: Measure;
  let after: Measure;
  let exitMs: number | undefined;
  const slices: { result: LoadResult; measure: Measure; seconds: number }[] = [];

  beforeAll(async () => {
    server = await startLoadServer('no-leak');
  }, 60_000);

  afterAll(async () => {
    await server?.stop(5_000);
  });

  it('answers every request with 200 and the right body', async () => {
    const warmup = await runLoad(server.url, WARMUP_REQUESTS, CONNECTIONS);
    expect(warmup.ok).toBe(WARMUP_REQUESTS);
    before = await server.measure(true);
    for (let sent = 0; sent < REQUESTS; sent += SLICE) {
      const started = performance.now();
      const result = await runLoad(server.url, SLICE, CONNECTIONS);
      const seconds = (performance.now() - started) / 1000;
      expect(result).toMatchObject({ requests: SLICE, ok: SLICE, non2xx: 0, errors: 0, timeouts: 0, mismatches: 0 });
      slices.push({ result, measure: await server.measure(true), seconds });
    }
    after = slices[slices.length - 1].measure;
  }, 300_000);

  it('keeps its heap and RSS within a small margin of where they were after the warm-up', () => {
    expect(mb(after.memory.heapUsed - before.memory.heapUsed)).toBeLessThanOrEqual(HEAP_MARGIN_MB);
    expect(mb(after.memory.rss - before.memory.rss)).toBeLessThanOrEqual(RSS_MARGIN_MB);
  });

  it('leaves no timer, socket, listener or connection behind', () => {
    expect(after.openConnections).toBe(0);
    expect(after.pendingReplies).toBe(0);
    expect(after.resources).toEqual(before.resources);
    expect(after.listeners).toEqual(before.listeners);
  });

  it('lets every RequestTrace, MessageTrace and span of the load be collected', () => {
    const sampled = REQUESTS / 1000;
    expect(after.survivors.requestTraces.sampled).toBeGreaterThanOrEqual(sampled);
    expect(after.survivors.messageTraces.sampled).toBeGreaterThanOrEqual(sampled);
    expect(after.survivors.spans.sampled).toBeGreaterThanOrEqual(sampled * SPANS_PER_REQUEST);
    expect({
      requestTraces: after.survivors.requestTraces.alive,
      messageTraces: after.survivors.messageTraces.alive,
      spans: after.survivors.spans.alive,
    }).toEqual({ requestTraces: 0, messageTraces: 0, spans: 0 });
  });

  it('exports exactly 4 spans per request', () => {
    const requests = WARMUP_REQUESTS + REQUESTS;
    expect(after.handled).toEqual({ requests, messages: requests });
    expect(after.spans.byName).toEqual({
      'GET /orders/:id': requests,
      'send orders.get': requests,
      'process orders.get': requests,
      'OrdersRepository.find': requests,
    });
    expect(after.spans.exported).toBe(requests * SPANS_PER_REQUEST);
  });

  it('exits cleanly on SIGTERM, well within 10 s', async () => {
    const exit = await server.stop(15_000);
    expect(exit.killed).toBe(false);
    expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true);
    exitMs = exit.ms;
    expect(exit.ms).toBeLessThan(10_000);
  }, 20_000);

  afterAll(() => {
    if (after !== undefined) {
      console.log(report());
    }
  });

  function report(): string {
    const seconds = slices.reduce((total, slice) => total + slice.seconds, 0);
    const row = (label: string, measure: Measure) =>
      `${label.padEnd(26)} heapUsed ${mb(measure.memory.heapUsed).toFixed(1).padStart(6)} MB  ` +
      `RSS ${mb(measure.memory.rss).toFixed(1).padStart(6)} MB  spans exported ${measure.spans.exported}`;
    return [
      `No leak: ${REQUESTS} requests in ${seconds.toFixed(1)} s (${Math.round(REQUESTS / seconds)} req/s), ` +
        `${CONNECTIONS} connections, after ${WARMUP_REQUESTS} of warm-up; ${SPANS_PER_REQUEST} spans per request`,
      row('after warm-up', before),
      ...slices.map(
        (slice, index) =>
          `${row(`after ${WARMUP_REQUESTS + (index + 1) * SLICE} requests`, slice.measure)}  ` +
          `${slice.result.requestsPerSecond} req/s p50 ${slice.result.p50} ms p99 ${slice.result.p99} ms`,
      ),
      `heap growth ${mb(after.memory.heapUsed - before.memory.heapUsed)} MB (margin ${HEAP_MARGIN_MB}), ` +
        `RSS growth ${mb(after.memory.rss - before.memory.rss)} MB (margin ${RSS_MARGIN_MB})`,
      `resources ${JSON.stringify(after.resources)}, open connections ${after.openConnections}, ` +
        `pending replies ${after.pendingReplies}`,
      `listeners: HTTP server ${JSON.stringify(after.listeners.httpServer)}, process ${JSON.stringify(after.listeners.process)}, ` +
        `TCP client socket ${JSON.stringify(after.listeners.clientSocket)}`,
      `sampled and still alive: RequestTrace ${after.survivors.requestTraces.alive}/${after.survivors.requestTraces.sampled}, ` +
        `MessageTrace ${after.survivors.messageTraces.alive}/${after.survivors.messageTraces.sampled}, ` +
        `span ${after.survivors.spans.alive}/${after.survivors.spans.sampled}`,
      `exit after SIGTERM ${exitMs ?? '-'} ms`,
    ].join('\n');
  }
});
