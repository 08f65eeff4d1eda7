import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { firstValueFrom } from 'rxjs';
import { freePort } from '../helpers';
import { AppModule, receivedEvents } from './app.module';

describe('foundation, on a real Express app', () => {
  const tracing = setupTestTracing();
  let app: INestApplication;
  let client: ClientProxy;
  let baseUrl: string;

  beforeAll(async () => {
    const rpcPort = await freePort();
    // This suite checks @Traced and TracingService on their own (test/http covers the
    // HTTP SERVER spans), which also shows that `http.enabled: false` makes none.
    app = await NestFactory.create(AppModule.with({ http: { enabled: false } }), { logger: false });
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: rpcPort } });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: rpcPort } });
    await client.connect();
  });
  afterEach(() => tracing.reset());
  afterAll(async () => {
    await client.close();
    await app.close();
    await tracing.shutdown();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${baseUrl}${path}`, { headers });

  describe('@Traced on controllers and providers', () => {
    it('routes a decorated handler, keeps its guard metadata and nests the provider span', async () => {
      const response = await get('/users/42');
      expect(response.status).toBe(200);
      const body = (await response.json()) as { id: string; spanId: string };
      const handler = tracing.expectSpan('UsersController.find', {
        kind: SpanKind.INTERNAL,
        status: SpanStatusCode.UNSET,
        parent: null,
        attributes: {
          'code.function.name': 'UsersController.find',
          'nestjs.class': 'UsersController',
          'user.id': '42',
        },
      });
      expect(body.spanId).toBe(handler.spanContext().spanId);
      tracing.expectSpan('UsersService.findOne', { parent: handler });
      tracing.expectSpan('UsersService.audit', { parent: 'UsersService.findOne' });
      expect(tracing.getFinishedSpans()).toHaveLength(3);
    });

    it('routes a POST with params and body when @Traced is below the route decorators', async () => {
      const response = await fetch(`${baseUrl}/users/7/tags`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tag: 'vip' }),
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ id: '7', tag: 'vip' });
      tracing.expectSpan('tag user', { attributes: { 'code.function.name': 'UsersController.tag' } });
    });

    it('ends an Observable handler when it completes, with the subscription in its span', async () => {
      const response = await get('/users/3/changes');
      expect(await response.json()).toEqual(['3:created', '3:updated']);
      const watch = tracing.expectSpan('UsersService.watch', { parent: 'UsersController.changes' });
      tracing.expectSpan('UsersService.audit', { parent: watch });
    });

    it('ends an async generator when iteration ends, with its work as children', async () => {
      const response = await get('/users/5/history');
      expect(await response.json()).toEqual(['a', 'b', 'c']);
      const history = tracing.expectSpan('UsersService.history', { parent: 'UsersController.history' });
      const audits = tracing.getFinishedSpans().filter((span) => span.name === 'UsersService.audit');
      expect(audits).toHaveLength(3);
      for (const audit of audits) {
        expect(audit.parentSpanContext?.spanId).toBe(history.spanContext().spanId);
      }
    });

    it('records a thrown HttpException and the app still answers 404', async () => {
      const response = await get('/users/9/missing');
      expect(response.status).toBe(404);
      const missing = tracing.expectSpan('UsersService.missing', {
        status: SpanStatusCode.ERROR,
        attributes: { 'error.type': 'NotFoundException' },
      });
      expect(missing.events.map((event) => event.name)).toEqual(['exception']);
      tracing.expectSpan('UsersController.missing', { status: SpanStatusCode.ERROR });
    });
  });

  describe('TracingService', () => {
    it('starts an active span, enriches it and injects its context', async () => {
      const body = (await (await get('/service/span')).json()) as {
        traceId: string;
        spanId: string;
        sameSpan: boolean;
        carrier: Record<string, string>;
        tracer: string;
      };
      const span = tracing.expectSpan('manual work', {
        parent: null,
        status: SpanStatusCode.ERROR,
        attributes: { 'work.kind': 'manual', 'work.items': 3, 'error.type': 'Error' },
      });
      expect(body.sameSpan).toBe(true);
      expect(body.tracer).toBe('function');
      expect(body.traceId).toBe(span.spanContext().traceId);
      expect(body.carrier.traceparent).toBe(`00-${body.traceId}-${body.spanId}-01`);
      expect(span.events.map((event) => event.name)).toEqual(['halfway', 'exception']);
    });

    it('is a safe no-op with no active span', async () => {
      const response = await get('/service/no-span');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ traceId: null, active: false, carrier: {}, spanRecording: false });
      expect(tracing.getFinishedSpans()).toHaveLength(0);
    });

    it('extracts an incoming context and continues its trace', async () => {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const response = await get('/service/continue', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
      expect(await response.json()).toEqual({ traceId });
      const span = tracing.expectSpan('continued');
      expect(span.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
      expect(span.parentSpanContext?.isRemote).toBe(true);
    });

    it('ignores a malformed traceparent and starts a new trace', async () => {
      const response = await get('/service/continue', { traceparent: '00-not-a-trace-01' });
      expect(response.status).toBe(200);
      tracing.expectSpan('continued', { parent: null });
    });
  });

  describe('RPC handlers over TCP', () => {
    it('routes a @Traced @MessagePattern and gives @CurrentSpan the handler span', async () => {
      const reply = await firstValueFrom(client.send<{ id: number; spanId: string }>('users.get', 11));
      const span = tracing.expectSpan('UsersRpcController.get', { attributes: { 'user.id': 11 } });
      expect(reply).toEqual({ id: 11, spanId: span.spanContext().spanId });
    });

    it('routes a @Traced @EventPattern', async () => {
      await firstValueFrom(client.emit('users.created', { id: 12 }));
      await tracing.waitForSpans('UsersRpcController.created');
      expect(receivedEvents).toContainEqual({ id: 12 });
    });
  });
});
