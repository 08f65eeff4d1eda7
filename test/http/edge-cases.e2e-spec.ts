import { Controller, Get, Module, VersioningType, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { propagation, SpanKind, SpanStatusCode, type TextMapPropagator } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { TracingModule, type TracingModuleOptions } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { connect as connectHttp2 } from 'node:http2';
import { ADAPTERS, type AdapterName } from './http-apps';

const tracing = setupTestTracing();
afterAll(() => tracing.shutdown());

@Controller('things')
class ThingsController {
  @Get(':id')
  get() {
    return { ok: true };
  }
}

@Controller({ path: 'versioned', version: '1' })
class VersionedController {
  @Get()
  get() {
    return { version: 1 };
  }
}

async function start(
  adapter: AdapterName,
  options: TracingModuleOptions,
  { http2 = false, headerVersioning = false } = {},
): Promise<{ app: INestApplication; url: string }> {
  @Module({ imports: [TracingModule.forRoot(options)], controllers: [ThingsController, VersionedController] })
  class EdgeModule {}
  const httpAdapter = adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter({ http2 } as never);
  const app = await NestFactory.create(EdgeModule, httpAdapter, { logger: false });
  if (headerVersioning) {
    app.enableVersioning({ type: VersioningType.HEADER, header: 'x-version' });
  }
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe.each(ADAPTERS)('HTTP edge cases on %s', (adapter) => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
    tracing.reset();
  });

  it('answers as usual, untraced, when the registered propagator throws', async () => {
    const throwing: TextMapPropagator = {
      inject: () => undefined,
      extract: () => {
        throw new Error('broken propagator');
      },
      fields: () => [],
    };
    propagation.disable();
    propagation.setGlobalPropagator(throwing);
    try {
      const started = await start(adapter, {});
      app = started.app;
      const response = await fetch(`${started.url}/things/1`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
      expect(response.headers.get('traceresponse')).toBeNull();
    } finally {
      propagation.disable();
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
    expect(tracing.getFinishedSpans()).toHaveLength(0);
  });

  it('makes no span when http.enabled is false', async () => {
    const started = await start(adapter, { http: { enabled: false } });
    app = started.app;
    const response = await fetch(`${started.url}/things/1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('traceresponse')).toBeNull();
    await response.arrayBuffer();
    await app.close();
    app = undefined;
    expect(tracing.getFinishedSpans()).toHaveLength(0);
  });

  it('names a 404 for an unknown version by its method alone', async () => {
    const started = await start(adapter, {}, { headerVersioning: true });
    app = started.app;
    const response = await fetch(`${started.url}/versioned`, { headers: { 'x-version': '2' } });
    expect(response.status).toBe(404);
    const [span] = await tracing.waitForSpans((candidate) => candidate.kind === SpanKind.SERVER);
    expect(span.name).toBe('GET');
    expect(span.attributes['http.route']).toBeUndefined();
    expect(span.attributes['error.type']).toBe('404');
  });
});

describe('HTTP/2 on fastify', () => {
  it('makes the SERVER span of an h2c request', async () => {
    const { app, url } = await start('fastify', {}, { http2: true });
    const client = connectHttp2(url);
    try {
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = client.request({ ':path': '/things/7', host: undefined });
        let received: Record<string, unknown> = {};
        stream.on('response', (responseHeaders) => (received = responseHeaders));
        stream.on('error', reject);
        stream.resume();
        stream.on('end', () => resolve(received));
      });
      expect(headers[':status']).toBe(200);
      const [span] = await tracing.waitForSpans((candidate) => candidate.kind === SpanKind.SERVER);
      expect(headers.traceresponse).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
      tracing.expectSpan('GET /things/:id', {
        status: SpanStatusCode.UNSET,
        attributes: {
          'network.protocol.version': '2',
          'http.response.status_code': 200,
          'url.path': '/things/7',
          'server.address': '127.0.0.1',
        },
      });
    } finally {
      client.close();
      await app.close();
      tracing.reset();
    }
  });
});
