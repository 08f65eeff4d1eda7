import { Controller, Module, type INestApplicationContext, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  Ctx,
  MessagePattern,
  Payload,
  Transport,
  type ClientOptions,
  type ClientProxy,
} from '@nestjs/microservices';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { TracingModule, TracingService } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { BROKERS, requireBroker } from '../brokers.js';
import { freePort } from '../helpers.js';

/**
 * Nest >= 12.0.4 carries `packet.metadata` over TCP and Redis itself: the trace context
 * travels there, next to what the app's own dispatch hook puts there, and a handler
 * reads both with `getMetadata()`. A message between Nest 11 and Nest 12 joins one
 * trace either way. Runs in the Nest 12 run only (test/versions/run.sh); the Nest 11
 * side is test/microservices/cross-version-peer.ts in a process of its own.
 */
const tracing = setupTestTracing();
const TRANSPORTS = ['tcp', 'redis'] as const;

interface NestTwelveClient {
  setOnDispatchHook(hook: (packet: { metadata?: Record<string, string> }) => void): void;
}
type TransportName = (typeof TRANSPORTS)[number];

async function optionsFor(transport: TransportName): Promise<{ options: ClientOptions; port: number }> {
  if (transport === 'redis') {
    await requireBroker('redis');
    const { host, port } = BROKERS.redis;
    return { options: { transport: Transport.REDIS, options: { host, port } }, port };
  }
  const port = await freePort();
  return { options: { transport: Transport.TCP, options: { host: '127.0.0.1', port } }, port };
}

/** A Nest 12 microservice whose handler of `pattern` answers the packet's metadata. */
async function startMetadataService(pattern: string, options: ClientOptions): Promise<INestMicroservice> {
  @Controller()
  class MetadataController {
    @MessagePattern(pattern)
    metadata(@Payload() _data: unknown, @Ctx() context: { getMetadata(): unknown }): unknown {
      return context.getMetadata() ?? null;
    }
  }
  @Module({ imports: [TracingModule.forRoot()], controllers: [MetadataController] })
  class MetadataModule {}
  const service = await NestFactory.createMicroservice(MetadataModule, { ...options, logger: false });
  await service.listen();
  return service;
}

interface PeerSpan {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

interface Peer {
  /** Lines the peer printed so far. */
  output: string[];
  /** Resolves with the peer's spans once it has printed them and exited. */
  spans: Promise<{ nest: string; spans: PeerSpan[] }>;
  /** Asks the server to stop: it prints its spans and exits. */
  stop(): void;
  /** Kills the peer if it is still running (a failed test's cleanup). */
  kill(): void;
}

/** How long a peer may live: a test that fails must not leave it holding the run open. */
const PEER_LIFETIME_MS = 25_000;

/** Runs the Nest 11 peer (the repository's own Nest 11 and this module's sources). */
function startNest11Peer(role: 'server' | 'client', transport: TransportName, port: number, pattern: string): Peer {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(
    process.execPath,
    [
      '-r',
      './test/sdk/ts-register.cjs',
      'test/microservices/cross-version-peer.ts',
      role,
      transport,
      String(port),
      pattern,
    ],
    { env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const output: string[] = [];
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    output.push(...lines);
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  };
  const lifetime = setTimeout(kill, PEER_LIFETIME_MS);
  const spans = new Promise<{ nest: string; spans: PeerSpan[] }>((resolve, reject) => {
    child.once('close', (code) => {
      clearTimeout(lifetime);
      const line = [...output, buffered].find((candidate) => candidate.startsWith('SPANS '));
      if (line === undefined) {
        reject(new Error(`the Nest 11 ${role} exited (${code}) without its spans: ${output.join('\n')}`));
      } else {
        resolve(JSON.parse(line.slice('SPANS '.length)) as { nest: string; spans: PeerSpan[] });
      }
    });
  });
  // A test that fails before reading the spans leaves this promise unread.
  spans.catch(() => undefined);
  return { output, spans, stop: () => child.kill('SIGTERM'), kill };
}

async function untilReady(peer: Peer): Promise<void> {
  for (let attempt = 0; attempt < 400 && !peer.output.includes('READY'); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!peer.output.includes('READY')) {
    throw new Error(`the Nest 11 server did not start: ${peer.output.join('\n')}`);
  }
}

function named(spans: PeerSpan[], name: string): PeerSpan {
  const span = spans.find((candidate) => candidate.name === name);
  if (span === undefined) {
    throw new Error(`no "${name}" span among ${JSON.stringify(spans)}`);
  }
  return span;
}

function idsOf(span: ReadableSpan): { traceId: string; spanId: string } {
  return span.spanContext();
}

afterEach(() => tracing.reset());
afterAll(() => tracing.shutdown());

describe.each(TRANSPORTS)('packet.metadata over %s on Nest 12', (transport) => {
  let service: INestMicroservice;
  let client: ClientProxy;
  let tracingService: TracingService;
  let options: ClientOptions;
  const pattern = `metadata.${randomUUID()}`;

  beforeAll(async () => {
    ({ options } = await optionsFor(transport));
    service = await startMetadataService(pattern, options);
    tracingService = service.get(TracingService);
    client = ClientProxyFactory.create(options);
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
    await service.close();
  });

  it('carries the context, which the handler reads with getMetadata(), beside the app hook metadata', async () => {
    const send = (): Promise<Record<string, unknown>> =>
      tracingService.startActiveSpan('caller', () =>
        firstValueFrom(client.send<Record<string, unknown>>(pattern, { n: 1 })),
      );
    const first = await send();
    // Nest 12's API; the specs compile against the repository's own Nest 11 types.
    (client as unknown as NestTwelveClient).setOnDispatchHook((packet) => {
      packet.metadata = { tenant: 'acme', traceparent: 'the app must not write this key' };
    });
    const second = await send();
    await tracing.waitForSpans(`process ${pattern}`, 2);

    const [sentFirst, sentSecond] = tracing
      .getFinishedSpans()
      .filter((span) => span.name === `send ${pattern}`)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    for (const [reply, sent] of [
      [first, sentFirst],
      [second, sentSecond],
    ] as const) {
      expect(sent.kind).toBe(SpanKind.CLIENT);
      expect(reply.traceparent).toBe(`00-${idsOf(sent).traceId}-${idsOf(sent).spanId}-01`);
      const processed = tracing.expectSpan(
        (span) => span.name === `process ${pattern}` && span.parentSpanContext?.spanId === idsOf(sent).spanId,
        { kind: SpanKind.SERVER },
      );
      expect(processed.spanContext().traceId).toBe(idsOf(sent).traceId);
    }
    expect(first.tenant).toBeUndefined();
    expect(second.tenant).toBe('acme');
  });

  it('hands the serializer the packet with the context already in its metadata', async () => {
    const serialized: { metadata?: Record<string, string> }[] = [];
    const serializer = {
      serialize: (packet: { metadata?: Record<string, string> }) => {
        serialized.push(JSON.parse(JSON.stringify(packet)) as { metadata?: Record<string, string> });
        return packet;
      },
    };
    const recording = ClientProxyFactory.create({
      ...options,
      options: { ...options.options, serializer },
    } as ClientOptions);
    try {
      const reply = await tracingService.startActiveSpan('caller', () =>
        firstValueFrom(recording.send<Record<string, unknown>>(pattern, { n: 3 })),
      );
      const sent = tracing.expectSpan(`send ${pattern}`, { kind: SpanKind.CLIENT, parent: 'caller' });
      const traceparent = `00-${idsOf(sent).traceId}-${idsOf(sent).spanId}-01`;
      expect(serialized).toHaveLength(1);
      expect(serialized[0].metadata?.traceparent).toBe(traceparent);
      expect(reply.traceparent).toBe(traceparent);
    } finally {
      await recording.close();
    }
  });
});

/** A test that starts the Nest 11 peer: a process that compiles this module's sources. */
const PEER_TIMEOUT_MS = 30_000;

describe.each(TRANSPORTS)('one trace between Nest 11 and Nest 12 over %s', (transport) => {
  it(
    'a Nest 11 client and a Nest 12 server',
    async () => {
      const pattern = `cross.${randomUUID()}`;
      const { options, port } = await optionsFor(transport);
      const service = await startMetadataService(pattern, options);
      const peer = startNest11Peer('client', transport, port, pattern);
      try {
        const { nest, spans } = await peer.spans;
        expect(nest).toMatch(/^11\./);
        const sent = named(spans, `send ${pattern}`);
        expect(sent.kind).toBe(SpanKind.CLIENT);
        expect(peer.output.find((line) => line.startsWith('REPLY '))).toContain(
          `"traceparent":"00-${sent.traceId}-${sent.spanId}-01"`,
        );
        const [processed] = await tracing.waitForSpans(`process ${pattern}`);
        expect(processed.kind).toBe(SpanKind.SERVER);
        expect(processed.spanContext().traceId).toBe(sent.traceId);
        expect(processed.parentSpanContext?.spanId).toBe(sent.spanId);
      } finally {
        peer.kill();
        await service.close();
      }
    },
    PEER_TIMEOUT_MS,
  );

  it(
    'a Nest 12 client and a Nest 11 server',
    async () => {
      const pattern = `cross.${randomUUID()}`;
      const { options, port } = await optionsFor(transport);
      const peer = startNest11Peer('server', transport, port, pattern);
      let app: INestApplicationContext | undefined;
      let client: ClientProxy | undefined;
      try {
        await untilReady(peer);
        @Module({ imports: [TracingModule.forRoot()] })
        class ClientModule {}
        app = await NestFactory.createApplicationContext(ClientModule, { logger: false });
        client = ClientProxyFactory.create(options);
        await client.connect();
        const sender = client;
        const reply = await app
          .get(TracingService)
          .startActiveSpan('caller', () => firstValueFrom(sender.send<unknown>(pattern, { from: 'nest12' })));
        expect(reply).toEqual({ from: 'nest12' });
      } catch (error) {
        peer.kill();
        throw error;
      } finally {
        await client?.close();
        await app?.close();
        peer.stop();
      }
      const sent = tracing.expectSpan(`send ${pattern}`, { kind: SpanKind.CLIENT, parent: 'caller' });
      const { nest, spans } = await peer.spans;
      expect(nest).toMatch(/^11\./);
      const processed = named(spans, `process ${pattern}`);
      expect(processed.kind).toBe(SpanKind.SERVER);
      expect(processed.traceId).toBe(idsOf(sent).traceId);
      expect(processed.parentSpanId).toBe(idsOf(sent).spanId);
    },
    PEER_TIMEOUT_MS,
  );
});
