import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { tracingInstrument, type AutoInstrumentOptions } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { ItemsJobs, ItemsModule, ItemsService } from './app.module';

const ALL_ON: AutoInstrumentOptions = {
  guards: true,
  pipes: true,
  interceptors: true,
  filters: true,
  middleware: true,
  handlers: true,
  providers: [ItemsService],
  schedule: true,
  events: true,
};

const ALL_OFF: AutoInstrumentOptions = {
  guards: false,
  pipes: false,
  interceptors: false,
  filters: false,
  middleware: false,
  handlers: false,
  providers: false,
  schedule: false,
  events: false,
};

const tracing = setupTestTracing();

describe('autoInstrument', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
    tracing.reset();
  });
  afterAll(() => tracing.shutdown());

  async function start(autoInstrument: AutoInstrumentOptions): Promise<string> {
    app = await NestFactory.create(ItemsModule.with({ autoInstrument }), {
      logger: false,
      instrument: tracingInstrument(),
    });
    await app.listen(0, '127.0.0.1');
    return (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }

  /** The spans of the request's trace, by `nestjs.type`. */
  async function requestSpans(
    url: string,
    path: string,
  ): Promise<{ http: ReadableSpan; byType: Map<string, ReadableSpan[]> }> {
    await (await fetch(`${url}${path}`)).arrayBuffer();
    const [http] = await tracing.waitForSpans((span) => span.kind === SpanKind.SERVER);
    const byType = new Map<string, ReadableSpan[]>();
    for (const span of tracing.getFinishedSpans()) {
      const type = span.attributes['nestjs.type'];
      if (typeof type === 'string' && span.spanContext().traceId === http.spanContext().traceId) {
        byType.set(type, [...(byType.get(type) ?? []), span]);
      }
    }
    return { http, byType };
  }

  it('all on: a span for the middleware, guard, interceptor, handler, pipe, provider and listener', async () => {
    const url = await start(ALL_ON);
    const { http, byType } = await requestSpans(url, '/items/7');
    const one = (type: string, name: string) => {
      expect(byType.get(type)?.map((span) => span.name)).toEqual([name]);
      return byType.get(type)![0];
    };
    expect(one('middleware', 'ItemsMiddleware.use').parentSpanContext?.spanId).toBe(http.spanContext().spanId);
    // The APP_GUARD one first, then the controller's.
    expect(byType.get('guard')?.map((span) => span.name)).toEqual([
      'GlobalGuard.canActivate',
      'ItemsGuard.canActivate',
    ]);
    for (const guard of byType.get('guard')!) {
      expect(guard.parentSpanContext?.spanId).toBe(http.spanContext().spanId);
    }
    // The handler span starts in the global TracingInterceptor, so it covers the route's
    // own interceptors, its pipes and the handler.
    const handler = one('handler', 'ItemsController.find');
    expect(handler.parentSpanContext?.spanId).toBe(http.spanContext().spanId);
    const interceptor = one('interceptor', 'TimingInterceptor.intercept');
    expect(interceptor.parentSpanContext?.spanId).toBe(handler.spanContext().spanId);
    expect(one('pipe', 'TrimPipe.transform').parentSpanContext?.spanId).toBe(interceptor.spanContext().spanId);
    expect(one('provider', 'ItemsService.find').parentSpanContext?.spanId).toBe(interceptor.spanContext().spanId);
    expect(one('event', 'ItemsListener.onViewed').parentSpanContext?.spanId).toBe(interceptor.spanContext().spanId);
    expect(handler.attributes).toMatchObject({
      'nestjs.class': 'ItemsController',
      'code.function.name': 'ItemsController.find',
    });
  });

  it('all on: a span for the exception filter that answers', async () => {
    const url = await start(ALL_ON);
    const { byType } = await requestSpans(url, '/items/0');
    expect(byType.get('filter')?.map((span) => span.name)).toEqual(['NotFoundFilter.catch']);
  });

  it('filters alone: the filter span and no others, with tracingInstrument()', async () => {
    const url = await start({ ...ALL_OFF, filters: true });
    const { byType } = await requestSpans(url, '/items/0');
    expect([...byType.keys()]).toEqual(['filter']);
  });

  it('all off: only the request span', async () => {
    const url = await start(ALL_OFF);
    const { byType } = await requestSpans(url, '/items/7');
    expect([...byType.keys()]).toEqual([]);
    expect(tracing.getFinishedSpans().map((span) => span.name)).toEqual(['GET /items/:id']);
  });

  it.each([
    ['guards', 'guard'],
    ['pipes', 'pipe'],
    ['interceptors', 'interceptor'],
    ['middleware', 'middleware'],
    ['handlers', 'handler'],
    ['providers', 'provider'],
    ['events', 'event'],
  ] as const)('%s alone gives %s spans and no others', async (option, type) => {
    const url = await start({ ...ALL_OFF, [option]: true });
    const { byType } = await requestSpans(url, '/items/7');
    expect([...byType.keys()]).toEqual([type]);
  });

  it("providers: true traces the app's providers, never this package's own", async () => {
    const url = await start({ ...ALL_OFF, providers: true });
    const { byType } = await requestSpans(url, '/items/7');
    const names = byType.get('provider')!.map((span) => span.name);
    expect(names).toContain('ItemsService.find');
    expect(
      names.filter((name) =>
        /^(HttpServerTracer|TracingService|Microservice|ApplicationConfig|ModuleRef|EventEmitter|EventSubscribersLoader|DiscoveryService|MetadataScanner|Reflector|ItemsModule)/.test(
          name,
        ),
      ),
    ).toEqual([]);
  });

  it('providers by name or predicate', async () => {
    const url = await start({ ...ALL_OFF, providers: (_class, name) => name === 'ItemsService' });
    const { byType } = await requestSpans(url, '/items/7');
    expect(byType.get('provider')!.map((span) => span.name)).toEqual(['ItemsService.find']);
  });

  it('a schedule job run starts its own trace, and none when schedule is off', async () => {
    await start({ ...ALL_OFF, schedule: true });
    const [run] = await tracing.waitForSpans('ItemsJobs.tick');
    expect(run.parentSpanContext).toBeUndefined();
    expect(run.attributes['nestjs.type']).toBe('cron');
    await app!.close();
    app = undefined;
    tracing.reset();
    await start(ALL_OFF);
    const jobs = app!.get(ItemsJobs);
    const before = jobs.runs;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(jobs.runs).toBeGreaterThan(before);
    expect(tracing.findSpan('ItemsJobs.tick')).toBeUndefined();
  });

  it('an event emitted outside any span starts its own trace', async () => {
    await start({ ...ALL_OFF, events: true });
    app!.get(EventEmitter2).emit('item.viewed', 'background');
    const [listener] = await tracing.waitForSpans('ItemsListener.onViewed');
    expect(listener.parentSpanContext).toBeUndefined();
    expect(listener.attributes['nestjs.type']).toBe('event');
  });
});
