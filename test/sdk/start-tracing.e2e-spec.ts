import { Transport, type ClientProvider, type MicroserviceOptions } from '@nestjs/microservices';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { TracingError } from 'nestjs-tracing';
import { startTracing, type TracingHandle } from 'nestjs-tracing/sdk';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../helpers';
import { startSystem } from '../microservices/apps';
import { startOtlpReceiver, startZipkinReceiver, type ReceivedSpan, type Receiver } from './receivers';

const SDK_VARIABLES = [
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_ZIPKIN_ENDPOINT',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_PROPAGATORS',
];

describe('startTracing(), exporting to real OTLP/HTTP and Zipkin receivers on loopback', () => {
  let otlp: Receiver;
  let zipkin: Receiver;
  let handle: TracingHandle | undefined;
  const saved = Object.fromEntries(SDK_VARIABLES.map((name) => [name, process.env[name]]));

  beforeAll(async () => {
    [otlp, zipkin] = await Promise.all([startOtlpReceiver(), startZipkinReceiver()]);
  });
  afterEach(async () => {
    await handle?.shutdown();
    handle = undefined;
    otlp.spans.length = 0;
    zipkin.spans.length = 0;
    for (const name of SDK_VARIABLES) {
      if (saved[name] === undefined) {
        delete process.env[name];
      } else {
        process.env[name] = saved[name];
      }
    }
  });
  afterAll(async () => {
    await otlp.close();
    await zipkin.close();
  });

  /** Sends one request through an HTTP gateway and a TCP service, then flushes. */
  async function runTraffic(): Promise<void> {
    const options = { transport: Transport.TCP, options: { host: '127.0.0.1', port: await freePort() } };
    const system = await startSystem(options as MicroserviceOptions, options as ClientProvider);
    try {
      expect((await fetch(`${system.url}/gateway/users/7`)).status).toBe(200);
    } finally {
      await system.close();
    }
    await handle!.shutdown();
  }

  /** The chain gateway HTTP -> CLIENT -> SERVER -> provider, checked by ids. */
  function expectChain(spans: ReceivedSpan[]): void {
    const named = (name: string) => {
      const matches = spans.filter((span) => span.name.toLowerCase() === name.toLowerCase());
      expect(matches).toHaveLength(1);
      return matches[0];
    };
    const http = named('GET /gateway/users/:id');
    const client = named('send users.get');
    const server = named('process users.get');
    const provider = named('UsersStore.find');
    expect(http.parentId).toBeUndefined();
    expect(client.parentId).toBe(http.spanId);
    expect(server.parentId).toBe(client.spanId);
    expect(provider.parentId).toBe(server.spanId);
    expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
  }

  it('reads the standard environment variables: both exporters, service name, resource attributes', async () => {
    process.env.OTEL_TRACES_EXPORTER = 'otlp, zipkin';
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
    process.env.OTEL_EXPORTER_ZIPKIN_ENDPOINT = `${zipkin.url}/api/v2/spans`;
    process.env.OTEL_SERVICE_NAME = 'users-env';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=test,team=core';
    handle = startTracing({ flushOnSignals: false });
    await runTraffic();
    expectChain(otlp.spans);
    expectChain(zipkin.spans);
    for (const span of [...otlp.spans, ...zipkin.spans]) {
      expect(span.serviceName).toBe('users-env');
    }
    expect(otlp.spans[0].attributes).toMatchObject({ 'deployment.environment.name': 'test', team: 'core' });
  });

  it('lets explicit options win over the environment', async () => {
    process.env.OTEL_TRACES_EXPORTER = 'otlp';
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
    process.env.OTEL_SERVICE_NAME = 'from-env';
    handle = startTracing({
      serviceName: 'explicit',
      exporter: 'zipkin',
      zipkinEndpoint: `${zipkin.url}/api/v2/spans`,
      flushOnSignals: false,
    });
    await runTraffic();
    expect(otlp.spans).toEqual([]);
    expectChain(zipkin.spans);
    expect(zipkin.spans[0].serviceName).toBe('explicit');
  });

  it('takes the OTLP endpoint option and a sampling ratio', async () => {
    handle = startTracing({ exporter: 'otlp', otlpEndpoint: `${otlp.url}/`, sampler: 1, flushOnSignals: false });
    await runTraffic();
    expectChain(otlp.spans);
  });

  it('shuts down within its 3 s cap, without rejecting, when the collector accepts and never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const stopping = startTracing({
        exporter: 'otlp',
        otlpEndpoint: `http://127.0.0.1:${port}`,
        flushOnSignals: false,
      });
      trace.getTracer('shutdown test').startSpan('queued').end();
      const started = performance.now();
      await expect(stopping.shutdown()).resolves.toBeUndefined();
      // The OTLP exporter itself gives up only after 10 s.
      expect(performance.now() - started).toBeLessThan(9_000);
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      for (const socket of sockets) {
        socket.destroy();
      }
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('samples nothing with OTEL_TRACES_SAMPLER=always_off', async () => {
    process.env.OTEL_TRACES_SAMPLER = 'always_off';
    handle = startTracing({ exporter: 'otlp', otlpEndpoint: otlp.url, flushOnSignals: false });
    await runTraffic();
    expect(otlp.spans).toEqual([]);
  });

  it('reads OTEL_PROPAGATORS: B3 multi-header and Jaeger are written, B3 single read', () => {
    process.env.OTEL_PROPAGATORS = 'b3multi,jaeger';
    handle = startTracing({ exporter: 'none', flushOnSignals: false });
    const span = trace.getTracer('test').startSpan('outgoing');
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    expect(Object.keys(carrier).sort()).toEqual(['uber-trace-id', 'x-b3-sampled', 'x-b3-spanid', 'x-b3-traceid']);
    const extracted = trace.getSpanContext(
      propagation.extract(ROOT_CONTEXT, { b3: `${'a'.repeat(32)}-${'b'.repeat(16)}-1` }),
    );
    expect(extracted?.traceId).toBe('a'.repeat(32));
  });

  it.each([
    ['alone', '0', ['before the signal']],
    ['after Nest-like shutdown hooks have closed the app', '1', ['before the signal', 'while closing']],
  ])(
    'flushes on SIGTERM %s, then the signal ends the process',
    async (_when, withCloser, expected) => {
      const child = spawn(
        process.execPath,
        ['-r', join(__dirname, 'ts-register.cjs'), join(__dirname, 'signal-child.ts')],
        {
          env: { ...process.env, ZIPKIN_URL: `${zipkin.url}/api/v2/spans`, WITH_CLOSER: withCloser },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (chunk: Buffer) => chunk.includes('ready') && resolve()),
      );
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
      );
      child.kill('SIGTERM');
      // The batch processor would hold the spans for 5 s: the signal flushes them first.
      expect(await exited).toBe('SIGTERM');
      expect(zipkin.spans.map((span) => span.name).sort()).toEqual(expected);
      expect(zipkin.spans.every((span) => span.serviceName === 'signals')).toBe(true);
    },
    15000,
  );

  it('rejects an unknown exporter or propagator given as an option, naming the ones it knows', () => {
    expect(() => startTracing({ exporter: 'jaeger' as never, flushOnSignals: false })).toThrow(TracingError);
    expect(() => startTracing({ exporter: 'jaeger' as never, flushOnSignals: false })).toThrow(
      'Cannot start tracing because the exporter "jaeger" is not one this package knows. Make sure to use one of "otlp", "zipkin", "console", "waterfall", "none".',
    );
    expect(() => startTracing({ propagators: ['w3c' as never], exporter: 'none', flushOnSignals: false })).toThrow(
      'the propagator "w3c"',
    );
  });

  it('ignores an unknown exporter named in OTEL_TRACES_EXPORTER and uses the others', async () => {
    process.env.OTEL_TRACES_EXPORTER = 'prometheus,otlp';
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
    handle = startTracing({ flushOnSignals: false });
    await runTraffic();
    expectChain(otlp.spans);
  });
});
