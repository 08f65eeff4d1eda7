import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { Transport } from '@nestjs/microservices';
import { diag, SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { BROKERS, requireBroker } from '../brokers';
import { freePort } from '../helpers';
import {
  ADAPTERS,
  DiagRecorder,
  httpGet,
  runPool,
  SEED,
  SpanLedger,
  startWorkGateway,
  startWorkServices,
  urlOf,
  eventTraceIds,
  WORK_EVENT,
  WORK_PATTERN,
  workInFlight,
  type HttpAnswer,
  type TransportSetup,
  type WorkAnswer,
} from './reliability-apps';

/**
 * No cross-talk under concurrency: 2,000 requests, 200 in flight at once, each with a
 * trace id of its own in `traceparent`, through a handler that interleaves timers
 * (seeded delays), a @Traced provider, a @Traced Observable and a call to a second
 * Nest app over TCP, NATS and Redis at once. Every span must be in the trace of the
 * request that made it, under the span it belongs to, and there must be exactly as
 * many spans as the requests make.
 */
const REQUESTS = 2000;
const CONCURRENCY = 200;
const SERVER_SPAN = 'GET /work/:id';
/** Set RELIABILITY_REPORT=1 to print the figures of each run. */
const REPORT = process.env.RELIABILITY_REPORT === '1';

const ledger = new SpanLedger();
const diagnostics = new DiagRecorder();
const tracing = setupTestTracing({ spanProcessors: [ledger] });

let transports: TransportSetup[] = [];
let services: INestMicroservice[] = [];

beforeAll(async () => {
  await requireBroker('nats');
  await requireBroker('redis');
  diagnostics.install();
  const tcp = { host: '127.0.0.1', port: await freePort() };
  const nats = { servers: [BROKERS.nats.url] };
  const redis = { host: BROKERS.redis.host, port: BROKERS.redis.port };
  transports = [
    {
      transport: 'tcp',
      server: { transport: Transport.TCP, options: tcp },
      client: { transport: Transport.TCP, options: tcp },
    },
    {
      transport: 'nats',
      server: { transport: Transport.NATS, options: nats },
      client: { transport: Transport.NATS, options: nats },
    },
    {
      transport: 'redis',
      server: { transport: Transport.REDIS, options: redis },
      client: { transport: Transport.REDIS, options: redis },
    },
  ];
  services = await startWorkServices(transports);
}, 30_000);

afterAll(async () => {
  for (const service of services) {
    await service.close();
  }
  diag.disable();
  await tracing.shutdown();
});

/** One request: the id in its URL, and the trace and parent span it sent. */
interface SentRequest {
  id: string;
  traceId: string;
  parentSpanId: string;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe.each(ADAPTERS)('2,000 concurrent requests on %s', (adapter) => {
  let gateway: INestApplication;
  let requests: SentRequest[];
  let answers: HttpAnswer[];
  let spans: ReadableSpan[];
  let elapsedMs: number;
  let peakInFlight: number;
  let closed = false;
  /**
   * Spans each request makes: its SERVER span, the provider, the Observable, and per
   * transport send -> process -> store for the message and send -> process for the event.
   */
  const spansPerRequest = () => 3 + 5 * transports.length;

  beforeAll(async () => {
    tracing.reset();
    ledger.reset();
    diagnostics.reset();
    eventTraceIds.clear();
    gateway = await startWorkGateway(adapter, transports);
    const url = await urlOf(gateway);
    requests = Array.from({ length: REQUESTS }, (_, index) => ({
      id: String(index),
      traceId: hex(16),
      parentSpanId: hex(8),
    }));
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    workInFlight.peak = 0;
    const started = performance.now();
    try {
      answers = await runPool(REQUESTS, CONCURRENCY, (index) => {
        const { id, traceId, parentSpanId } = requests[index];
        return httpGet(agent, `${url}/work/${id}`, { traceparent: `00-${traceId}-${parentSpanId}-01` });
      });
    } finally {
      agent.destroy();
    }
    elapsedMs = performance.now() - started;
    peakInFlight = workInFlight.peak;
    // Every SERVER span ends on its response's `close`, an event's CONSUMER span once its handler is done.
    await tracing.waitForSpans(SERVER_SPAN, REQUESTS, 10_000);
    await tracing.waitForSpans(`process ${WORK_EVENT}`, REQUESTS * transports.length, 10_000);
    await gateway.close();
    closed = true;
    spans = tracing.getFinishedSpans();
  }, 150_000);

  afterAll(async () => {
    if (!closed) {
      // A step of beforeAll failed before it closed the gateway.
      await gateway?.close().catch(() => undefined);
    }
    if (REPORT && spans !== undefined) {
      const summary = ledger.summary();
      console.log(
        `[reliability/concurrency] ${adapter}: ${REQUESTS} requests (${CONCURRENCY} client slots, ` +
          `peak ${peakInFlight} in the handler at once, seed ${SEED.toString(16)}) in ${Math.round(elapsedMs)} ms; ` +
          `${spans?.length} spans (${spansPerRequest()} per request over ${transports.map((t) => t.transport).join(', ')}); ` +
          `started ${summary.started}, ended ${summary.ended}, open ${summary.open.length}`,
      );
    }
  });

  it('answers every request in its own trace, at every step of the handler and in the service', () => {
    const wrong: string[] = [];
    requests.forEach((request, index) => {
      const answer = answers[index];
      const fail = (what: string) => wrong.push(`request ${request.id}: ${what}`);
      if (answer.status !== 200) {
        fail(`status ${answer.status} ${answer.body.slice(0, 200)}`);
        return;
      }
      const traceresponse = String(answer.headers.traceresponse ?? '');
      if (traceresponse.split('-')[1] !== request.traceId) {
        fail(`traceresponse ${traceresponse}`);
      }
      const body = JSON.parse(answer.body) as WorkAnswer;
      if (body.id !== request.id) {
        fail(`answered for ${body.id}`);
      }
      body.seen.forEach((traceId, step) => {
        if (traceId !== request.traceId) {
          fail(`gateway step ${step} ran in trace ${traceId}`);
        }
      });
      if (body.replies.length !== transports.length) {
        fail(`${body.replies.length} replies`);
      }
      for (const reply of body.replies) {
        if (reply.id !== request.id) {
          fail(`${reply.transport} reply for ${reply.id}`);
        }
        for (const [where, traceId] of [
          ['service handler', reply.traceId],
          ['service provider', reply.storeTraceId],
          ['reply callback', reply.callerTraceId],
        ]) {
          if (traceId !== request.traceId) {
            fail(`${reply.transport} ${where} ran in trace ${traceId}`);
          }
        }
      }
      const events = eventTraceIds.get(request.id) ?? [];
      if (events.length !== transports.length || events.some((traceId) => traceId !== request.traceId)) {
        fail(`its events were handled in traces ${events.join(', ')}`);
      }
    });
    expect({ wrong: wrong.length, first: wrong.slice(0, 10) }).toEqual({ wrong: 0, first: [] });
    expect(new Set(requests.map((request) => request.traceId)).size).toBe(REQUESTS);
  });

  it('puts every span in the trace of the request that made it, under the span it belongs to', () => {
    const result = checkTraces(
      spans,
      requests,
      transports.map((setup) => setup.transport),
      spansPerRequest(),
    );
    if (REPORT) {
      console.log(`[reliability/concurrency] ${adapter}: ${JSON.stringify({ ...result, problems: undefined })}`);
    }
    expect({ ...result, problems: result.problems.slice(0, 10) }).toEqual({
      requestsChecked: REQUESTS,
      spans: REQUESTS * spansPerRequest(),
      inForeignTrace: 0,
      parentInOtherTrace: 0,
      parentMissing: 0,
      wrongParent: 0,
      wrongRequestId: 0,
      problems: [],
    });
  });

  it('makes exactly requests × spans per request spans, each started and ended once', () => {
    expect(spans).toHaveLength(REQUESTS * spansPerRequest());
    const summary = ledger.summary();
    expect(summary.spans).toBe(REQUESTS * spansPerRequest());
    expect(ledger.countByName(summary.open)).toEqual({});
    expect(ledger.countByName(summary.endCalledTwice)).toEqual({});
    expect(ledger.countByName(summary.startedTwice)).toEqual({});
    expect(diagnostics.endedTwice()).toEqual([]);
  });

  it('had many requests in the handler at once', () => {
    // 200 client slots; the handler waits on timers and three services, so most are in it together.
    expect(peakInFlight).toBeGreaterThanOrEqual(CONCURRENCY / 2);
  });
});

interface TraceCheck {
  requestsChecked: number;
  spans: number;
  inForeignTrace: number;
  parentInOtherTrace: number;
  parentMissing: number;
  wrongParent: number;
  wrongRequestId: number;
  problems: string[];
}

/**
 * Checks the spans against what each request should have made, in its own trace:
 *
 *   GET /work/:id [SERVER], child of the caller's span (traceparent)
 *     WorkSteps.prepare, WorkSteps.observe
 *     per transport: send {pattern} [CLIENT] -> process {pattern} [SERVER] -> WorkStore.compute
 *     per transport: send {event} [PRODUCER] -> process {event} [CONSUMER]
 */
function checkTraces(
  spans: ReadableSpan[],
  requests: SentRequest[],
  transportNames: string[],
  perRequest: number,
): TraceCheck {
  const result: TraceCheck = {
    requestsChecked: 0,
    spans: spans.length,
    inForeignTrace: 0,
    parentInOtherTrace: 0,
    parentMissing: 0,
    wrongParent: 0,
    wrongRequestId: 0,
    problems: [],
  };
  const requestOf = new Map(requests.map((request) => [request.traceId, request]));
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const span of spans) {
    const traceId = span.spanContext().traceId;
    if (!requestOf.has(traceId)) {
      result.inForeignTrace += 1;
      result.problems.push(`${span.name} in trace ${traceId}, which no request sent`);
      continue;
    }
    const own = byTrace.get(traceId);
    if (own === undefined) {
      byTrace.set(traceId, [span]);
    } else {
      own.push(span);
    }
  }
  const isChildOf = (span: ReadableSpan | undefined, parent: ReadableSpan | undefined) =>
    span !== undefined &&
    parent !== undefined &&
    span.parentSpanContext?.spanId === parent.spanContext().spanId &&
    span.parentSpanContext?.traceId === parent.spanContext().traceId;

  for (const request of requests) {
    result.requestsChecked += 1;
    const own = byTrace.get(request.traceId) ?? [];
    const problem = (what: string) => result.problems.push(`request ${request.id}: ${what}`);
    const ids = new Set(own.map((span) => span.spanContext().spanId));
    for (const span of own) {
      const parent = span.parentSpanContext;
      if (parent === undefined) {
        result.parentMissing += 1;
        problem(`${span.name} has no parent`);
      } else if (parent.traceId !== request.traceId) {
        result.parentInOtherTrace += 1;
        problem(`${span.name} has a parent in trace ${parent.traceId}`);
      } else if (!ids.has(parent.spanId) && parent.spanId !== request.parentSpanId) {
        result.parentMissing += 1;
        problem(`${span.name}'s parent ${parent.spanId} is no span of its trace`);
      }
      const workId = span.attributes['work.id'];
      if (workId !== undefined && workId !== request.id) {
        result.wrongRequestId += 1;
        problem(`${span.name} is about request ${String(workId)}`);
      }
    }
    if (own.length !== perRequest) {
      problem(`${own.length} spans, expected ${perRequest}`);
    }
    const one = (what: string, matches: (span: ReadableSpan) => boolean): ReadableSpan | undefined => {
      const found = own.filter(matches);
      if (found.length !== 1) {
        problem(`${found.length} × ${what}`);
      }
      return found[0];
    };
    const expectChild = (span: ReadableSpan | undefined, parent: ReadableSpan | undefined, what: string) => {
      if (span !== undefined && parent !== undefined && !isChildOf(span, parent)) {
        result.wrongParent += 1;
        problem(`${what} is not a child of ${parent.name}`);
      }
    };

    const server = one('SERVER span', (span) => span.kind === SpanKind.SERVER && span.name === SERVER_SPAN);
    if (server !== undefined) {
      if (server.parentSpanContext?.spanId !== request.parentSpanId || server.parentSpanContext?.isRemote !== true) {
        result.wrongParent += 1;
        problem(`the SERVER span's parent is ${server.parentSpanContext?.spanId}, not the caller's`);
      }
      if (server.attributes['url.path'] !== `/work/${request.id}`) {
        result.wrongRequestId += 1;
        problem(`the SERVER span is for ${String(server.attributes['url.path'])}`);
      }
    }
    expectChild(
      one('WorkSteps.prepare', (span) => span.name === 'WorkSteps.prepare'),
      server,
      'WorkSteps.prepare',
    );
    expectChild(
      one('WorkSteps.observe', (span) => span.name === 'WorkSteps.observe'),
      server,
      'WorkSteps.observe',
    );
    for (const transport of transportNames) {
      const ofTransport = (span: ReadableSpan) => span.attributes['nestjs.transport'] === transport;
      const client = one(
        `${transport} CLIENT span`,
        (span) => span.kind === SpanKind.CLIENT && span.name === `send ${WORK_PATTERN}` && ofTransport(span),
      );
      expectChild(client, server, `the ${transport} CLIENT span`);
      const processed = one(
        `${transport} message SERVER span`,
        (span) => span.kind === SpanKind.SERVER && span.name === `process ${WORK_PATTERN}` && ofTransport(span),
      );
      expectChild(processed, client, `the ${transport} message SERVER span`);
      if (processed !== undefined) {
        one(`WorkStore.compute under the ${transport} message`, (span) => isChildOf(span, processed));
      }
      const producer = one(
        `${transport} PRODUCER span`,
        (span) => span.kind === SpanKind.PRODUCER && span.name === `send ${WORK_EVENT}` && ofTransport(span),
      );
      expectChild(producer, server, `the ${transport} PRODUCER span`);
      const consumer = one(
        `${transport} CONSUMER span`,
        (span) => span.kind === SpanKind.CONSUMER && span.name === `process ${WORK_EVENT}` && ofTransport(span),
      );
      expectChild(consumer, producer, `the ${transport} CONSUMER span`);
    }
    for (const store of own.filter((span) => span.name === 'WorkStore.compute')) {
      const parent = own.find((span) => isChildOf(store, span));
      if (parent?.name !== `process ${WORK_PATTERN}`) {
        result.wrongParent += 1;
        problem(`WorkStore.compute is a child of ${parent?.name ?? 'no span of its trace'}`);
      }
    }
  }
  return result;
}
