import { Controller, Get, Injectable, Module, Param, ParseIntPipe, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { propagation, SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import Redis from 'ioredis';
import { Traced, TracingModule } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { connect as connectNats, createInbox, headers as natsHeaders, type MsgHdrs, type NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, type Server } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import { BROKERS, requireBroker } from '../brokers';
import { freePort } from '../helpers';
import {
  contextCases,
  FAMILIES,
  idWasSent,
  isHttpSendable,
  utf8Bytes,
  type ContextCase,
  type ContextHeaders,
  type Expectation,
} from './context-values';

/**
 * Malformed incoming trace context. About 5,300 values of `traceparent`,
 * `tracestate`, `baggage`, `b3`, `X-B3-*` and `uber-trace-id` (hand-picked, then
 * generated from a fixed seed: see `context-values.ts`) go to a real Nest app over
 * HTTP (Express and Fastify, `fetch`, raw `node:http` for repeated headers) and inside
 * messages (the TCP and Redis envelope's `metadata` field, NATS headers), with the
 * composite propagator an app registers (W3C trace context and baggage, B3 single and
 * multi, Jaeger). For every value: nothing throws, the answer is the answer to the
 * same request without tracing headers (never a 5xx), and the request's span is a
 * valid new root or a valid join (of the very context sent, when it is valid by its
 * spec). Requests go 20 at a time; each carries its own id (`rid`), by which its span
 * is found.
 */

const CONCURRENCY = 20;
const CASES = contextCases();
const run = randomUUID().slice(0, 8);
/** A pattern of this run only: other suites may share the brokers. */
const PATTERN = `reliability.context.${run}`;

/** Node's default header limit (16 KiB) answers 431 before any app code runs; the 64 KiB values need more. */
const MAX_HEADER_SIZE = 1024 * 1024;

const tracing = setupTestTracing();
// The propagators an app registers to accept W3C, B3 and Jaeger callers, in place of
// the testing kit's W3C ones; `tracing.shutdown()` unregisters them.
propagation.disable();
propagation.setGlobalPropagator(
  new CompositePropagator({
    propagators: [
      new W3CTraceContextPropagator(),
      new W3CBaggagePropagator(),
      new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
      new JaegerPropagator(),
    ],
  }),
);
afterAll(async () => {
  propagation.disable();
  await tracing.shutdown();
});
afterEach(() => tracing.reset());

/** The span context active in the message handler, by the message's `rid`; `null`: none. */
const handled = new Map<string, SpanContext | null>();

@Injectable()
class ProbeStore {
  @Traced()
  async find(id: string) {
    await Promise.resolve();
    return { id, name: `user ${id}` };
  }
}

@Controller('probe')
class ProbeController {
  constructor(private readonly store: ProbeStore) {}

  @Get(':id')
  find(@Param('id') id: string) {
    return this.store.find(id);
  }

  @Get(':id/number')
  byNumber(@Param('id', ParseIntPipe) id: number) {
    return { id };
  }

  @MessagePattern(PATTERN)
  async message(@Payload() data: { rid: string }) {
    const span = trace.getActiveSpan();
    handled.set(data.rid, span === undefined ? null : span.spanContext());
    return this.store.find('7');
  }
}

@Module({ imports: [TracingModule.forRoot()], controllers: [ProbeController], providers: [ProbeStore] })
class ProbeModule {}

// ---------------------------------------------------------------------------------
// Checking one request.
// ---------------------------------------------------------------------------------

/** A value as sent: its headers (or, for a raw envelope, its JSON) and what must come of it. */
interface Probe {
  readonly label: string;
  readonly sent: ContextHeaders;
  readonly expect: Expectation;
}

/** What the server made of a request: its span's context and, when sampled, the exported span. */
interface Seen {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  readonly span: ReadableSpan | undefined;
}

const LOWER_TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;
const LOWER_SPAN_ID = /^(?!0{16})[0-9a-f]{16}$/;

/**
 * The problems of a request's span against what its value must give: a valid new
 * root (lower-case ids, no parent) or a valid join (the remote parent is the sent
 * context; for a value valid by its spec, exactly that trace id, parent id and
 * sampling decision). The local sampler (parent-based, always on) samples every new
 * root, so an unsampled request is an unsampled join.
 */
function judge(probe: Probe, seen: Seen): string[] {
  const problems: string[] = [];
  if (!LOWER_TRACE_ID.test(seen.traceId) || !LOWER_SPAN_ID.test(seen.spanId)) {
    problems.push(`span has invalid ids ${seen.traceId}/${seen.spanId}`);
  }
  const parent = seen.span?.parentSpanContext;
  if (parent !== undefined) {
    if (parent.isRemote !== true || parent.traceId !== seen.traceId || !LOWER_SPAN_ID.test(parent.spanId)) {
      problems.push(`span has an invalid parent ${JSON.stringify(parent)}`);
    }
  }
  const traceState = seen.span?.spanContext().traceState?.serialize();
  if (traceState !== undefined && (traceState.length > 512 || traceState.split(',').length > 32)) {
    problems.push(`span carries a tracestate beyond the W3C limits (${traceState.length} characters)`);
  }
  const joined = parent !== undefined || !seen.sampled;
  const { expect } = probe;
  if (expect.kind === 'root' && joined) {
    problems.push(`joined trace ${seen.traceId} from a value that holds no valid context`);
  } else if (expect.kind === 'join') {
    if (!joined) {
      problems.push(`started a new trace instead of joining ${expect.traceId}`);
    } else {
      if (seen.traceId !== expect.traceId) {
        problems.push(`joined trace ${seen.traceId}, expected ${expect.traceId}`);
      }
      if (parent !== undefined && parent.spanId !== expect.parentId) {
        problems.push(`parent is ${parent.spanId}, expected ${expect.parentId}`);
      }
      if (expect.sampled !== undefined && expect.sampled !== seen.sampled) {
        problems.push(`sampled is ${seen.sampled}, the caller said ${expect.sampled}`);
      }
    }
  } else if (expect.kind === 'either' && joined) {
    if (!idWasSent(seen.traceId, probe.sent) || (parent !== undefined && !idWasSent(parent.spanId, probe.sent))) {
      problems.push(`joined ${seen.traceId}/${parent?.spanId ?? '?'}, ids the caller did not send`);
    }
  }
  return problems;
}

const probeOf = (value: ContextCase): Probe => ({ label: value.label, sent: value.headers, expect: value.expect });

function describeProbe(probe: Probe): string {
  const sent = JSON.stringify(probe.sent);
  return `${probe.label} ${sent.length > 160 ? `${sent.slice(0, 160)}…(${sent.length} chars)` : sent}`;
}

/** Fails with the count and the first failures, grouped by kind of problem. */
function expectNoFailures(failures: string[], total: number): void {
  const byProblem = new Map<string, number>();
  for (const failure of failures) {
    const kind = failure.replace(/^.*?: /, '').replace(/[0-9a-f]{16,32}/g, '…');
    byProblem.set(kind, (byProblem.get(kind) ?? 0) + 1);
  }
  expect({
    failed: `${failures.length} of ${total}`,
    kinds: Object.fromEntries([...byProblem].slice(0, 10)),
    first: failures.slice(0, 12),
  }).toEqual({ failed: `0 of ${total}`, kinds: {}, first: [] });
}

/** Runs `task` for every item, `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Waits until every request that the server sampled has its span exported (the
 * SERVER span ends after the response), then returns the spans by `key`.
 */
async function exportedSpans(
  keyOf: (span: ReadableSpan) => string | undefined,
  expected: Iterable<string>,
): Promise<Map<string, ReadableSpan>> {
  const wanted = new Set(expected);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = new Map<string, ReadableSpan>();
    for (const span of tracing.getFinishedSpans()) {
      const key = keyOf(span);
      if (key !== undefined) {
        spans.set(key, span);
      }
    }
    if ([...wanted].every((key) => spans.has(key)) || Date.now() > deadline) {
      return spans;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// ---------------------------------------------------------------------------------
// The corpus.
// ---------------------------------------------------------------------------------

it('has at least 5,000 values, of every family, from a fixed seed', () => {
  expect(CASES.length).toBeGreaterThanOrEqual(5000);
  for (const family of FAMILIES) {
    expect(CASES.filter((value) => value.family === family).length).toBeGreaterThanOrEqual(200);
  }
  // Valid values of each kind, and values that must start a new trace, are both there.
  expect(CASES.filter((value) => value.expect.kind === 'join').length).toBeGreaterThan(1000);
  expect(CASES.filter((value) => value.expect.kind === 'root').length).toBeGreaterThan(1000);
  expect(CASES.filter((value) => value.headers.traceparent?.length === 64 * 1024).length).toBeGreaterThan(0);
  expect(contextCases().map((value) => JSON.stringify(value.headers))).toEqual(
    CASES.map((value) => JSON.stringify(value.headers)),
  );
});

// ---------------------------------------------------------------------------------
// HTTP.
// ---------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: string;
  traceresponse: string | undefined;
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
afterAll(() => agent.destroy());

/** `GET url` with `headers`: by `fetch`, or by `node:http` when a header is repeated (fetch would merge it). */
async function get(url: string, headers: ContextHeaders): Promise<Answer> {
  const repeated = Object.values(headers).some((value) => typeof value !== 'string');
  if (!repeated) {
    const wire = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, utf8Bytes(value as string)]));
    const response = await fetch(url, { headers: wire });
    return {
      status: response.status,
      body: await response.text(),
      traceresponse: response.headers.get('traceresponse') ?? undefined,
    };
  }
  const wire = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      typeof value === 'string' ? utf8Bytes(value) : value.map(utf8Bytes),
    ]),
  );
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { agent, headers: wire }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        const traceresponse = response.headers.traceresponse;
        resolve({ status: response.statusCode ?? 0, body, traceresponse: traceresponse as string | undefined });
      });
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** The routes a value is sent to, by the value's index: an answer, a pipe's 400, an unknown route's 404. */
const routeOf = (index: number): string =>
  index % 10 === 8 ? '/probe/x/number' : index % 10 === 9 ? '/unknown' : '/probe/7';

const TRACERESPONSE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

describe.each(['express', 'fastify'] as const)('HTTP on %s', (adapter) => {
  const values = CASES.filter((value) => isHttpSendable(value.headers));
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const app = await NestFactory.create(
      ProbeModule,
      adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
      {
        logger: false,
      },
    );
    (app.getHttpServer() as Server & { maxHeaderSize: number }).maxHeaderSize = MAX_HEADER_SIZE;
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    close = () => app.close();
  });
  afterAll(() => close?.());

  it(`answers ${values.length} values as it answers none, with a valid new root or a valid join`, async () => {
    const baseline = new Map<string, Answer>();
    for (const route of ['/probe/7', '/probe/x/number', '/unknown']) {
      baseline.set(route, await get(`${url}${route}?rid=baseline`, {}));
    }
    expect([...baseline.values()].map((answer) => answer.status)).toEqual([200, 400, 404]);

    const failures: string[] = [];
    const answers: (Answer | undefined)[] = [];
    await forEachLimited(values, CONCURRENCY, async (value, index) => {
      const route = routeOf(index);
      let answer: Answer;
      try {
        answer = await get(`${url}${route}?rid=${index}`, value.headers);
      } catch (error) {
        failures.push(`${describeProbe(probeOf(value))}: request failed: ${String(error)}`);
        return;
      }
      answers[index] = answer;
      const expected = baseline.get(route)!;
      // A 404 names the URL, and so its rid.
      const body = answer.body.replaceAll(`rid=${index}`, 'rid=baseline');
      if (answer.status >= 500 || answer.status !== expected.status || body !== expected.body) {
        failures.push(`${describeProbe(probeOf(value))}: answered ${answer.status} ${answer.body.slice(0, 80)}`);
      }
    });

    const sampled = answers.flatMap((answer, index) =>
      answer?.traceresponse?.endsWith('-01') === true ? [`rid=${index}`] : [],
    );
    const spans = await exportedSpans(
      (span) => (span.kind === SpanKind.SERVER ? (span.attributes['url.query'] as string | undefined) : undefined),
      sampled,
    );
    answers.forEach((answer, index) => {
      if (answer === undefined) {
        return;
      }
      const probe = probeOf(values[index]);
      const match = TRACERESPONSE.exec(answer.traceresponse ?? '');
      if (match === null) {
        failures.push(`${describeProbe(probe)}: traceresponse is ${answer.traceresponse}`);
        return;
      }
      const [, traceId, spanId, flags] = match;
      const span = spans.get(`rid=${index}`);
      const isSampled = (parseInt(flags, 16) & 1) === 1;
      if (isSampled && span === undefined) {
        failures.push(`${describeProbe(probe)}: sampled, but no SERVER span was exported`);
        return;
      }
      if (!isSampled && span !== undefined) {
        failures.push(`${describeProbe(probe)}: not sampled, but a SERVER span was exported`);
        return;
      }
      if (span !== undefined && (span.spanContext().traceId !== traceId || span.spanContext().spanId !== spanId)) {
        failures.push(`${describeProbe(probe)}: traceresponse ${answer.traceresponse} is not its span's`);
        return;
      }
      for (const problem of judge(probe, { traceId, spanId, sampled: isSampled, span })) {
        failures.push(`${describeProbe(probe)}: ${problem}`);
      }
    });
    expectNoFailures(failures, values.length);
  }, 120_000);
});

// ---------------------------------------------------------------------------------
// Microservice messages.
// ---------------------------------------------------------------------------------

/** What a service answered to one message: its replies, or its error. */
interface Reply {
  responses: unknown[];
  err?: unknown;
}

/** A message as a peer without this module sends it: Nest's envelope, and the context where the carrier reads it. */
interface Peer {
  /** Sends `{ pattern, data, id }`, with `metadata` in the envelope (TCP, Redis) or as NATS headers. */
  request(id: string, data: unknown, context: unknown): Promise<Reply>;
  close(): Promise<void>;
}

/** Collects the reply packets of a request until the last one. */
class Replies {
  private readonly waiting = new Map<string, { reply: Reply; resolve: (reply: Reply) => void }>();

  wait(id: string, send: () => void): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no reply to ${id} within 10 s`));
      }, 10_000);
      this.waiting.set(id, {
        reply: { responses: [] },
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
      });
      send();
    });
  }

  /** A reply packet: `{ id, response?, err?, isDisposed? }`. */
  receive(packet: { id?: string; response?: unknown; err?: unknown; isDisposed?: boolean }): void {
    const entry = packet.id === undefined ? undefined : this.waiting.get(packet.id);
    if (entry === undefined) {
      return;
    }
    if ('response' in packet) {
      entry.reply.responses.push(packet.response);
    }
    if ('err' in packet) {
      entry.reply.err = packet.err;
    }
    if (packet.isDisposed === true || 'err' in packet) {
      this.waiting.delete(packet.id!);
      entry.resolve(entry.reply);
    }
  }
}

/** Nest's TCP framing (`{length}#{json}`) on a raw socket: a peer that sends any `metadata` it likes. */
async function tcpPeer(port: number): Promise<Peer> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const connection = connectTcp({ host: '127.0.0.1', port }, () => resolve(connection));
    connection.once('error', reject);
  });
  const replies = new Replies();
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const hash = buffer.indexOf('#');
      const length = hash === -1 ? NaN : Number(buffer.slice(0, hash));
      if (Number.isNaN(length) || buffer.length < hash + 1 + length) {
        return;
      }
      const json = buffer.slice(hash + 1, hash + 1 + length);
      buffer = buffer.slice(hash + 1 + length);
      replies.receive(JSON.parse(json) as never);
    }
  });
  return {
    request(id, data, metadata) {
      const json = JSON.stringify({ pattern: PATTERN, data, id, ...(metadata === undefined ? {} : { metadata }) });
      return replies.wait(id, () => socket.write(`${json.length}#${json}`));
    },
    close: async () => {
      socket.destroy();
    },
  };
}

/** A Redis peer: publishes envelopes on the pattern's channel, reads `{pattern}.reply`. */
async function redisPeer(): Promise<Peer> {
  const publisher = new Redis(BROKERS.redis.port, BROKERS.redis.host);
  const subscriber = new Redis(BROKERS.redis.port, BROKERS.redis.host);
  const replies = new Replies();
  subscriber.on('message', (_channel: string, message: string) => replies.receive(JSON.parse(message) as never));
  await subscriber.subscribe(`${PATTERN}.reply`);
  return {
    request(id, data, metadata) {
      const json = JSON.stringify({ pattern: PATTERN, data, id, ...(metadata === undefined ? {} : { metadata }) });
      return replies.wait(id, () => void publisher.publish(PATTERN, json));
    },
    close: async () => {
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}

/** NATS message headers, as a peer without this module would set them; a repeated header is appended. */
function toNatsHeaders(headers: ContextHeaders): MsgHdrs {
  const natsMessageHeaders = natsHeaders();
  for (const [name, value] of Object.entries(headers)) {
    for (const text of typeof value === 'string' ? [value] : value) {
      natsMessageHeaders.append(name, text);
    }
  }
  return natsMessageHeaders;
}

/** A NATS peer: publishes `{ pattern, data, id }` with headers and a reply inbox. */
async function natsPeer(): Promise<Peer> {
  const connection: NatsConnection = await connectNats({ servers: BROKERS.nats.url });
  const inbox = createInbox();
  const replies = new Replies();
  const decoder = new TextDecoder();
  connection.subscribe(`${inbox}.*`, {
    callback: (error, message) => {
      if (error === null) {
        replies.receive(JSON.parse(decoder.decode(message.data)) as never);
      }
    },
  });
  await connection.flush();
  const encoder = new TextEncoder();
  return {
    request(id, data, headers) {
      const payload = encoder.encode(JSON.stringify({ pattern: PATTERN, data, id }));
      const options = { reply: `${inbox}.${id}`, headers: headers === undefined ? undefined : (headers as MsgHdrs) };
      return replies.wait(id, () => connection.publish(PATTERN, payload, options));
    },
    close: () => connection.drain(),
  };
}

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const VALID_JOIN: Expectation = {
  kind: 'join',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  parentId: '00f067aa0ba902b7',
  sampled: true,
};
const ROOT: Expectation = { kind: 'root' };
const EITHER: Expectation = { kind: 'either' };

/**
 * Envelope `metadata` that no HTTP header can hold: not a record, values that are not
 * strings, odd keys. Only the envelope carriers (TCP, Redis) get these.
 */
const ENVELOPE_SHAPES: [string, unknown, Expectation][] = [
  ['metadata is a string', VALID, ROOT],
  ['metadata is a number', 42, ROOT],
  ['metadata is null', null, ROOT],
  ['metadata is true', true, ROOT],
  ['metadata is an array', [VALID], ROOT],
  ['metadata is an empty object', {}, ROOT],
  ['traceparent is a number', { traceparent: 42 }, ROOT],
  ['traceparent is null', { traceparent: null }, ROOT],
  ['traceparent is an object', { traceparent: { value: VALID } }, ROOT],
  ['traceparent is a boolean', { traceparent: true }, ROOT],
  ['traceparent is a list', { traceparent: [VALID] }, EITHER],
  ['traceparent is a nested list', { traceparent: [[VALID]] }, ROOT],
  ['traceparent is a list of a number then a value', { traceparent: [42, VALID] }, EITHER],
  ['traceparent is an empty list', { traceparent: [] }, ROOT],
  ['traceparent is a serialized Buffer', { traceparent: JSON.parse(JSON.stringify(Buffer.from(VALID))) }, ROOT],
  ['capitalised key', { Traceparent: VALID }, EITHER],
  ['key __proto__', JSON.parse(`{"__proto__":{"traceparent":"${VALID}"}}`), ROOT],
  ['tracestate is a list of objects', { traceparent: VALID, tracestate: [{}, { a: 1 }] }, VALID_JOIN],
  ['tracestate is a number', { traceparent: VALID, tracestate: 42 }, VALID_JOIN],
  ['baggage is a nested list', { traceparent: VALID, baggage: [['a=b']] }, VALID_JOIN],
  ['baggage is a list of length-bearing objects', { traceparent: VALID, baggage: [{ length: 3 }] }, VALID_JOIN],
  ['baggage is a number', { traceparent: VALID, baggage: 42 }, VALID_JOIN],
  ['baggage is an object', { traceparent: VALID, baggage: { a: 'b' } }, VALID_JOIN],
  [
    'Jaeger baggage of odd types',
    { traceparent: VALID, 'uberctx-a': [null], 'uberctx-b': {}, 'uberctx-c': 7 },
    VALID_JOIN,
  ],
  [
    'X-B3-Sampled is a boolean list',
    { 'x-b3-traceid': '4bf92f3577b34da6a3ce929d0e0e4736', 'x-b3-spanid': '00f067aa0ba902b7', 'x-b3-sampled': [true] },
    EITHER,
  ],
  ['X-B3-TraceId is a number', { 'x-b3-traceid': 1234, 'x-b3-spanid': '00f067aa0ba902b7' }, ROOT],
  [
    'uber-trace-id list with a number',
    { 'uber-trace-id': ['4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1', 5] },
    EITHER,
  ],
  [
    'keys named like Object methods',
    { traceparent: VALID, constructor: 'x', toString: 'y', hasOwnProperty: 'z' },
    VALID_JOIN,
  ],
  ['a 64 KiB key', { traceparent: VALID, ['k'.repeat(64 * 1024)]: 'v' }, VALID_JOIN],
  [
    '1,000 Jaeger baggage keys',
    {
      traceparent: VALID,
      ...Object.fromEntries(Array.from({ length: 1000 }, (_, index) => [`uberctx-k${index}`, `v${index}`])),
    },
    VALID_JOIN,
  ],
];

/** NATS headers that differ from HTTP ones: names in another case (NATS header names are case-sensitive). */
const NATS_SHAPES: [string, ContextHeaders, Expectation][] = [
  ['TRACEPARENT in capitals', { TRACEPARENT: VALID }, EITHER],
  ['Traceparent capitalised', { Traceparent: VALID }, EITHER],
  ['traceparent and Traceparent', { traceparent: VALID, Traceparent: 'junk' }, VALID_JOIN],
  ['B3 capitalised', { B3: '4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1' }, EITHER],
];

interface CarrierCase {
  name: 'TCP' | 'Redis' | 'NATS';
  start(): Promise<{ service: INestMicroservice; peer: Peer }>;
  /** What goes where the carrier reads the context: the envelope's `metadata`, or NATS headers. */
  context(headers: ContextHeaders): unknown;
  /** Whether `headers` can travel in this carrier's messages at all. */
  canCarry(headers: ContextHeaders): boolean;
  extra: Probe[];
  extraContext: unknown[];
}

async function startService(options: MicroserviceOptions): Promise<INestMicroservice> {
  const service = await NestFactory.createMicroservice<MicroserviceOptions>(ProbeModule, { ...options, logger: false });
  await service.listen();
  return service;
}

const envelopeExtras = ENVELOPE_SHAPES.map(([label, metadata, expect]) => ({
  probe: { label: `envelope ${label}`, sent: { json: JSON.stringify(metadata) ?? '' }, expect },
  metadata,
}));

const CARRIERS: CarrierCase[] = [
  {
    name: 'TCP',
    async start() {
      const port = await freePort();
      const service = await startService({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
      return { service, peer: await tcpPeer(port) };
    },
    context: (headers) => headers,
    canCarry: () => true,
    extra: envelopeExtras.map((extra) => extra.probe),
    extraContext: envelopeExtras.map((extra) => extra.metadata),
  },
  {
    name: 'NATS',
    async start() {
      await requireBroker('nats');
      const service = await startService({ transport: Transport.NATS, options: { servers: [BROKERS.nats.url] } });
      return { service, peer: await natsPeer() };
    },
    context: toNatsHeaders,
    canCarry(headers) {
      try {
        toNatsHeaders(headers);
        return true;
      } catch {
        // `\r` and `\n` cannot be in a NATS header value: no client can send them.
        return false;
      }
    },
    extra: NATS_SHAPES.map(([label, headers, expect]) => ({ label: `NATS ${label}`, sent: headers, expect })),
    extraContext: NATS_SHAPES.map(([, headers]) => toNatsHeaders(headers)),
  },
  {
    name: 'Redis',
    async start() {
      await requireBroker('redis');
      const service = await startService({
        transport: Transport.REDIS,
        options: { host: BROKERS.redis.host, port: BROKERS.redis.port },
      });
      return { service, peer: await redisPeer() };
    },
    context: (headers) => headers,
    canCarry: () => true,
    extra: envelopeExtras.map((extra) => extra.probe),
    extraContext: envelopeExtras.map((extra) => extra.metadata),
  },
];

describe.each(CARRIERS)('messages over $name', (carrier) => {
  const values = CASES.filter((value) => carrier.canCarry(value.headers));
  const probes: Probe[] = [...values.map(probeOf), ...carrier.extra];
  let service: INestMicroservice | undefined;
  let peer: Peer | undefined;

  beforeAll(async () => {
    ({ service, peer } = await carrier.start());
  });
  afterAll(async () => {
    await peer?.close();
    await service?.close();
  });

  it(`answers ${probes.length} values as it answers none, with a valid new root or a valid join`, async () => {
    const sender = peer!;
    const contexts: unknown[] = [...values.map((value) => carrier.context(value.headers)), ...carrier.extraContext];

    const baseline = await sender.request(`${run}-baseline`, { rid: `${run}-baseline` }, undefined);
    expect(baseline).toEqual({ responses: [{ id: '7', name: 'user 7' }] });

    const failures: string[] = [];
    const rids: string[] = [];
    await forEachLimited(probes, CONCURRENCY, async (probe, index) => {
      const rid = `${carrier.name}-${run}-${index}`;
      rids[index] = rid;
      try {
        const reply = await sender.request(rid, { rid }, contexts[index]);
        if (JSON.stringify(reply) !== JSON.stringify(baseline)) {
          failures.push(`${describeProbe(probe)}: replied ${JSON.stringify(reply).slice(0, 120)}`);
        }
      } catch (error) {
        failures.push(`${describeProbe(probe)}: ${String(error)}`);
      }
    });

    const sampledIds = rids.flatMap((rid) => {
      const spanContext = handled.get(rid);
      return spanContext !== undefined && spanContext !== null && (spanContext.traceFlags & 1) === 1
        ? [spanContext.spanId]
        : [];
    });
    const spans = await exportedSpans(
      (span) => (span.name === `process ${PATTERN}` ? span.spanContext().spanId : undefined),
      sampledIds,
    );
    rids.forEach((rid, index) => {
      const probe = probes[index];
      const spanContext = handled.get(rid);
      if (spanContext === undefined) {
        return; // No reply: reported above.
      }
      if (spanContext === null) {
        failures.push(`${describeProbe(probe)}: the handler ran with no span`);
        return;
      }
      const sampled = (spanContext.traceFlags & 1) === 1;
      const span = spans.get(spanContext.spanId);
      if (sampled && span === undefined) {
        failures.push(`${describeProbe(probe)}: sampled, but no SERVER span was exported`);
        return;
      }
      if (span !== undefined && span.kind !== SpanKind.SERVER) {
        failures.push(`${describeProbe(probe)}: the message span is ${SpanKind[span.kind]}`);
      }
      for (const problem of judge(probe, { ...spanContext, sampled, span })) {
        failures.push(`${describeProbe(probe)}: ${problem}`);
      }
    });
    expectNoFailures(failures, probes.length);
  }, 120_000);
});
