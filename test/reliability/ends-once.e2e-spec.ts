import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { Transport } from '@nestjs/microservices';
import { diag, SpanKind } from '@opentelemetry/api';
import type { TracingModuleOptions } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { freePort } from '../helpers';
import {
  abandonedRequest,
  ADAPTERS,
  DiagRecorder,
  EDGE_NEVER,
  httpGet,
  runPool,
  sleep,
  SpanLedger,
  startEdgeGateway,
  startEdgeService,
  requestStarts,
  urlOf,
  whenHandlerStarts,
  whenRequestStarts,
  type LedgerEntry,
} from './reliability-apps';

/**
 * Every span ends exactly once: 10,000 requests (5,000 per adapter, 100 in flight)
 * that succeed, throw (sync and async, HttpException and Error), are abandoned by
 * the client while the handler waits or while it still sends its body, read a few
 * SSE events and leave, are cut short by a `take(1)` interceptor, leave a streamed
 * file after its first chunk, take the first of a service's streamed replies, get a
 * service's error, or time out waiting for a service that answers late or never
 * (TCP). A span processor counts starts, `end()` calls and ends per span id; a diag
 * logger catches the SDK's "You can only call end() on a span once" and its warning
 * about writes to an ended span.
 */
const REQUESTS_PER_ADAPTER = 5000;
const CONCURRENCY = 100;
/** Set RELIABILITY_REPORT=1 to print the figures of each run. */
const REPORT = process.env.RELIABILITY_REPORT === '1';

const KINDS = [
  'ok',
  'sync-http',
  'sync-error',
  'async-http',
  'async-error',
  'abort',
  'abort-body',
  'sse',
  'take-one',
  'stream',
  'ms-stream',
  'ms-error',
  'late',
  'never',
] as const;
type Kind = (typeof KINDS)[number];

/** The status each kind is answered with; `undefined`: the client leaves before any answer. */
const EXPECTED_STATUS: Record<Kind, number | undefined> = {
  ok: 200,
  'sync-http': 400,
  'sync-error': 500,
  'async-http': 404,
  'async-error': 500,
  abort: undefined,
  'abort-body': undefined,
  sse: 200,
  'take-one': 200,
  stream: 200,
  'ms-stream': 200,
  'ms-error': 500,
  late: 504,
  never: 504,
};

/**
 * Every automatic span that can end early or late is on too: handlers and
 * interceptors. The request hook tells the client that a request's span started.
 */
const TRACING_OPTIONS: TracingModuleOptions = {
  autoInstrument: { handlers: true, interceptors: true },
  http: { requestHook: requestStarts },
};

/**
 * The spans of a handler that never answers (`edge.never`): the handler is still at
 * work (Nest gives it no signal that the caller gave up), so they are the only spans
 * open before the apps close, one of each per `never` request. At shutdown the message
 * span ends (`error.type: shutdown`); the handler's own span stays open, as its
 * Observable never completes.
 */
const NEVER_ANSWERED = `process ${EDGE_NEVER}`;
const NEVER_ENDING = [NEVER_ANSWERED, 'EdgeMessageController.never'];
const OPEN_AFTER_CLOSE = ['EdgeMessageController.never'];

const ledger = new SpanLedger();
const diagnostics = new DiagRecorder();
const tracing = setupTestTracing({ spanProcessors: [ledger] });

beforeAll(() => diagnostics.install());
afterAll(async () => {
  diag.disable();
  await tracing.shutdown();
});

interface Outcome {
  kind: Kind;
  status?: number;
  /** SSE events or stream bytes the client got before it left. */
  received: string;
  /** An abandoning client that had to give up after 5 s (what it waited for never came). */
  gaveUp?: boolean;
  ms?: number;
}

/** Waits until `done()` or `timeoutMs`. */
async function settle(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) {
    await sleep(10);
  }
}

const countBy = <T>(items: T[], key: (item: T) => string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const item of items) {
    counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
};

describe.each(ADAPTERS)('every span ends exactly once on %s', (adapter) => {
  let service: INestMicroservice;
  let gateway: INestApplication;
  let outcomes: Outcome[];
  let elapsedMs: number;
  let summary: ReturnType<SpanLedger['summary']>;
  let openBeforeClose: LedgerEntry[];
  let closed = false;

  const neverRequests = () => outcomes.filter((outcome) => outcome.kind === 'never').length;

  beforeAll(async () => {
    tracing.reset();
    ledger.reset();
    diagnostics.reset();
    const tcp = { host: '127.0.0.1', port: await freePort() };
    service = await startEdgeService({ transport: Transport.TCP, options: tcp }, TRACING_OPTIONS);
    gateway = await startEdgeGateway(adapter, { transport: Transport.TCP, options: tcp }, TRACING_OPTIONS);
    const url = `${await urlOf(gateway)}/edge`;
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

    const send = async (index: number): Promise<Outcome> => {
      const kind = KINDS[index % KINDS.length];
      const id = String(index);
      const target = `${url}/${kind}/${id}`;
      switch (kind) {
        case 'abort': {
          // Leave 2 ms after the handler started, while it waits for that.
          const started = whenHandlerStarts(id);
          const { status, received, gaveUp } = await abandonedRequest(agent, target, (abort, got) => {
            if (got === undefined) {
              void started.then(() => setTimeout(abort, 2));
            }
          });
          return { kind, status, received, gaveUp };
        }
        case 'abort-body': {
          // Leave 2 ms after the request's span started, while the body is still coming.
          const started = whenRequestStarts(`/edge/${kind}/${id}`);
          const { status, received, gaveUp } = await abandonedRequest(
            agent,
            target,
            (abort, got) => {
              if (got === undefined) {
                void started.then(() => setTimeout(abort, 2));
              }
            },
            {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'content-length': '100' },
              partialBody: '{"partial":',
            },
          );
          return { kind, status, received, gaveUp };
        }
        case 'sse': {
          // Leave after three events.
          const { status, received, gaveUp } = await abandonedRequest(agent, target, (abort, got) => {
            if (got !== undefined && (got.match(/\n\n/g)?.length ?? 0) >= 3) {
              abort();
            }
          });
          return { kind, status, received, gaveUp };
        }
        case 'stream': {
          // Leave after the first chunk.
          const { status, received, gaveUp } = await abandonedRequest(agent, target, (abort, got) => {
            if (got !== undefined && got.length > 0) {
              abort();
            }
          });
          return { kind, status, received, gaveUp };
        }
        default: {
          const answer = await httpGet(agent, target);
          return { kind, status: answer.status, received: answer.body };
        }
      }
    };

    const started = performance.now();
    try {
      outcomes = await runPool(REQUESTS_PER_ADAPTER, CONCURRENCY, async (index) => {
        const sent = performance.now();
        const outcome = await send(index);
        return { ...outcome, ms: performance.now() - sent };
      });
    } finally {
      agent.destroy();
    }
    elapsedMs = performance.now() - started;

    // Let the work the clients left behind finish (late replies, the handlers of
    // abandoned requests), then close both apps gracefully.
    const isNeverEnding = (entry: LedgerEntry) => NEVER_ENDING.includes(entry.name);
    await settle(() => ledger.open().every(isNeverEnding), 10_000);
    openBeforeClose = ledger.open();
    await gateway.close();
    await service.close();
    closed = true;
    await settle(() => ledger.open().every((entry) => OPEN_AFTER_CLOSE.includes(entry.name)), 2_000);
    summary = ledger.summary();
  }, 150_000);

  afterAll(async () => {
    if (!closed) {
      // A step of beforeAll failed before it closed them.
      await gateway?.close().catch(() => undefined);
      await service?.close().catch(() => undefined);
    }
    if (REPORT && summary !== undefined) {
      console.log(
        `[reliability/ends-once] ${adapter}: ${REQUESTS_PER_ADAPTER} requests (${CONCURRENCY} in flight) in ` +
          `${Math.round(elapsedMs)} ms; ${JSON.stringify({
            requests: countBy(outcomes, (outcome) => `${outcome.kind} ${outcome.status ?? 'left'}`),
            slowestMs: Object.fromEntries(
              KINDS.map((kind) => [
                kind,
                Math.round(Math.max(...outcomes.filter((o) => o.kind === kind).map((o) => o.ms ?? 0))),
              ]),
            ),
            spanIds: summary.spans,
            started: summary.started,
            endCalls: summary.endCalls,
            ended: summary.ended,
            endCalledTwice: summary.endCalledTwice.length,
            endedTwiceDiag: diagnostics.endedTwice().length,
            writesAfterEnd: diagnostics.writesAfterEnd().length,
            open: ledger.countByName(summary.open),
            openBeforeClose: ledger.countByName(openBeforeClose),
            byName: ledger.countByName(),
          })}`,
      );
    }
  });

  it('answers the mix as intended: successes, errors, abandoned requests, cut streams, timeouts', () => {
    const unexpected = outcomes
      .filter((outcome) => outcome.status !== EXPECTED_STATUS[outcome.kind])
      .map((outcome) => `${outcome.kind}: ${outcome.status ?? 'no answer'}`);
    expect(countBy(unexpected, (line) => line)).toEqual({});
    expect(outcomes.filter((outcome) => outcome.gaveUp).map((outcome) => outcome.kind)).toEqual([]);
    for (const outcome of outcomes.filter((outcome) => outcome.kind === 'sse')) {
      expect(outcome.received.match(/\n\n/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
    }
    expect(outcomes).toHaveLength(REQUESTS_PER_ADAPTER);
    // The server saw each client leave: the SERVER spans of the abandoned kinds say `aborted`.
    const abandoned = ['abort', 'abort-body', 'sse', 'stream'];
    const serverSpans = tracing
      .getFinishedSpans()
      .filter((span) => span.kind === SpanKind.SERVER && String(span.attributes['url.path']).startsWith('/edge/'));
    expect(serverSpans).toHaveLength(REQUESTS_PER_ADAPTER);
    expect(
      countBy(
        serverSpans.filter((span) => abandoned.includes(String(span.attributes['url.path']).split('/')[2])),
        (span) => `${String(span.attributes['url.path']).split('/')[2]} ${String(span.attributes['error.type'])}`,
      ),
    ).toEqual(
      Object.fromEntries(
        abandoned.map((kind) => [`${kind} aborted`, outcomes.filter((outcome) => outcome.kind === kind).length]),
      ),
    );
  });

  it('never ends a span twice', () => {
    expect(ledger.countByName(summary.endCalledTwice)).toEqual({});
    expect(ledger.countByName(summary.reportedEndedTwice)).toEqual({});
    expect(diagnostics.endedTwice().slice(0, 10)).toEqual([]);
    expect(ledger.countByName(summary.startedTwice)).toEqual({});
    expect(ledger.countByName(summary.endedWithoutStart)).toEqual({});
  });

  it('leaves no span open once the apps are closed, but those of the handler that never answers', () => {
    const expectedOpen = Object.fromEntries(OPEN_AFTER_CLOSE.map((name) => [name, neverRequests()]));
    expect(ledger.countByName(summary.open)).toEqual(expectedOpen);
    // The messages whose handler never answered end at shutdown, marked as such.
    const abandoned = tracing.getFinishedSpans().filter((span) => span.name === NEVER_ANSWERED);
    expect(abandoned).toHaveLength(neverRequests());
    expect(new Set(abandoned.map((span) => span.attributes['error.type']))).toEqual(new Set(['shutdown']));
    // Every other span id: started once, ended once.
    expect(summary.ended).toBe(summary.started - summary.open.length);
  });

  it('writes nothing to a span after it ended', () => {
    expect(diagnostics.writesAfterEnd().slice(0, 10)).toEqual([]);
  });
});
