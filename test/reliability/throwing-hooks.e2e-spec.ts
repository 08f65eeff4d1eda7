import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  ParseIntPipe,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientsModule,
  EventPattern,
  MessagePattern,
  Payload,
  Transport,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { diag, DiagLogLevel, SpanKind, type DiagLogger } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Traced, TracingModule, type TracingModuleOptions } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { firstValueFrom } from 'rxjs';
import { freePort } from '../helpers';

/**
 * Hooks and options that throw: `http.spanNameHook`, `http.requestHook`, an
 * `http.ignore` predicate, an `http.trustIncomingContext` predicate,
 * `microservices.messageHook`, a `microservices.ignore` predicate, a
 * `microservices.trustIncomingContext` predicate and a `@Traced({ attributes })`
 * function, each throwing something else (an Error, a string, `undefined`, `null`, a
 * plain object). Every request and message is answered as an app without the hooks
 * answers it, its spans are there with their default names, and each kind of hook is
 * reported once through OpenTelemetry's `diag`, however many requests it failed.
 */

/** What `diag.error` was called with. */
const reports: { message: string; args: unknown[] }[] = [];
const ignoreLevel = (): void => undefined;
const diagLogger: DiagLogger = {
  error: (message, ...args) => void reports.push({ message, args }),
  warn: ignoreLevel,
  info: ignoreLevel,
  debug: ignoreLevel,
  verbose: ignoreLevel,
};
diag.setLogger(diagLogger, DiagLogLevel.ERROR);

const tracing = setupTestTracing();
afterAll(async () => {
  await tracing.shutdown();
  diag.disable();
});
afterEach(() => tracing.reset());

/** What each hook throws, by the kind it is reported as. */
const THROWN = {
  'http.spanNameHook': new Error('spanNameHook failed'),
  'http.requestHook': 'requestHook failed',
  'http.ignore': new TypeError('ignore failed'),
  'http.trustIncomingContext': undefined,
  'microservices.messageHook': { reason: 'messageHook failed' },
  'microservices.ignore': null,
  'microservices.trustIncomingContext': new RangeError('trustIncomingContext failed'),
  '@Traced attributes function': new SyntaxError('attributes failed'),
} as const;
type HookKind = keyof typeof THROWN;

/** How many times each hook was called. */
const calls = new Map<HookKind, number>();
function throwing(kind: HookKind): () => never {
  return () => {
    calls.set(kind, (calls.get(kind) ?? 0) + 1);
    throw THROWN[kind];
  };
}

const THROWING_OPTIONS: TracingModuleOptions = {
  http: {
    spanNameHook: throwing('http.spanNameHook'),
    requestHook: throwing('http.requestHook'),
    ignore: throwing('http.ignore'),
    trustIncomingContext: throwing('http.trustIncomingContext'),
  },
  microservices: {
    messageHook: throwing('microservices.messageHook'),
    ignore: throwing('microservices.ignore'),
    trustIncomingContext: throwing('microservices.trustIncomingContext'),
  },
};

const USERS_CLIENT = 'USERS_CLIENT';

@Injectable()
class UsersStore {
  @Traced({ attributes: throwing('@Traced attributes function') })
  async find(id: string) {
    await Promise.resolve();
    return { id, name: `user ${id}` };
  }
}

@Controller('hooks')
class HooksController {
  constructor(
    private readonly store: UsersStore,
    @Inject(USERS_CLIENT) private readonly client: ClientProxy,
  ) {}

  @Get('users/:id')
  find(@Param('id') id: string) {
    return this.store.find(id);
  }

  @Get('numbers/:id')
  byNumber(@Param('id', ParseIntPipe) id: number) {
    return { id };
  }

  /** A message and an event to the app's own TCP microservice. */
  @Get('relay/:id')
  async relay(@Param('id') id: string) {
    await firstValueFrom(this.client.emit('hooks.seen', { id }), { defaultValue: undefined });
    return firstValueFrom(this.client.send('hooks.get', id));
  }

  @MessagePattern('hooks.get')
  get(@Payload() id: string) {
    return this.store.find(id);
  }

  @EventPattern('hooks.seen')
  seen(@Payload() _event: { id: string }) {
    return undefined;
  }
}

@Module({})
class HooksModule {
  static with(options: TracingModuleOptions, tcpPort: number): DynamicModule {
    return {
      module: HooksModule,
      imports: [
        TracingModule.forRoot(options),
        ClientsModule.register([
          { name: USERS_CLIENT, transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } },
        ]),
      ],
      controllers: [HooksController],
      providers: [UsersStore],
    };
  }
}

type AdapterName = 'express' | 'fastify';

async function startApp(
  adapter: AdapterName,
  options: TracingModuleOptions,
): Promise<{ app: INestApplication; url: string }> {
  const tcpPort = await freePort();
  const app = await NestFactory.create(
    HooksModule.with(options, tcpPort),
    adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
    { logger: false },
  );
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: tcpPort },
  });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${CALLER_TRACE_ID}-00f067aa0ba902b7-01`;

/** The requests each adapter gets: routes answered, refused by a pipe, unknown, relayed; with and without a traceparent. */
const REQUESTS = Array.from({ length: 80 }, (_, index) => ({
  path: ['/hooks/users/7', '/hooks/numbers/x', '/unknown', `/hooks/relay/${index}`][index % 4],
  traced: index % 8 < 4,
}));

/** The span name each route keeps when the name hook fails. */
const DEFAULT_NAMES = ['GET /hooks/users/:id', 'GET /hooks/numbers/:id', 'GET', 'GET /hooks/relay/:id'];

interface Answer {
  status: number;
  body: string;
}

async function answerOf(url: string, path: string, traced: boolean): Promise<Answer> {
  const response = await fetch(`${url}${path}`, { headers: traced ? { traceparent: TRACEPARENT } : {} });
  return { status: response.status, body: await response.text() };
}

describe.each(['express', 'fastify'] as const)('on %s', (adapter) => {
  let plain: { app: INestApplication; url: string };
  let hooked: { app: INestApplication; url: string };

  beforeAll(async () => {
    // The app without hooks first: clients take the options of the app started last.
    plain = await startApp(adapter, {});
    hooked = await startApp(adapter, THROWING_OPTIONS);
  });
  afterAll(async () => {
    await hooked?.app.close();
    await plain?.app.close();
  });

  it(`answers ${REQUESTS.length} requests as an app without the hooks does, with every span in place`, async () => {
    const expected = await Promise.all(REQUESTS.map(({ path, traced }) => answerOf(plain.url, path, traced)));
    expect(expected.slice(0, 4).map((answer) => answer.status)).toEqual([200, 400, 404, 200]);
    // The plain app's spans all ended before the hooked app is called.
    await tracing.waitForSpans(
      (span) => span.kind === SpanKind.SERVER && 'url.path' in span.attributes,
      REQUESTS.length,
    );
    await tracing.waitForSpans('process hooks.get', REQUESTS.length / 4);
    await tracing.waitForSpans('process hooks.seen', REQUESTS.length / 4);
    tracing.reset();

    const before = new Map(calls);
    const answers = await Promise.all(REQUESTS.map(({ path, traced }) => answerOf(hooked.url, path, traced)));
    expect(answers).toEqual(expected);

    const servers = await tracing.waitForSpans(
      (span) => span.kind === SpanKind.SERVER && 'url.path' in span.attributes,
      REQUESTS.length,
    );
    await tracing.waitForSpans('process hooks.get', REQUESTS.length / 4);
    await tracing.waitForSpans('process hooks.seen', REQUESTS.length / 4);
    // A throwing spanNameHook keeps the default name; a throwing ignore ignores nothing.
    expect(servers.map((span) => span.name).sort()).toEqual(
      REQUESTS.map((_request, index) => DEFAULT_NAMES[index % 4]).sort(),
    );
    // A throwing trustIncomingContext trusts nothing: new roots, linked to the caller.
    for (const span of servers) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).not.toBe(CALLER_TRACE_ID);
      expect(span.links.every((link) => link.context.traceId === CALLER_TRACE_ID)).toBe(true);
    }
    expect(servers.filter((span) => span.links.length === 1)).toHaveLength(REQUESTS.filter((r) => r.traced).length);
    // A throwing @Traced attributes function keeps the span and its own attributes.
    const finds = tracing.getFinishedSpans().filter((span) => span.name === 'UsersStore.find');
    expect(finds).toHaveLength(REQUESTS.length / 2);
    expect(finds.every((span) => span.attributes['code.function.name'] === 'UsersStore.find')).toBe(true);
    // Messages: both ends traced; the receiver trusts nothing when its predicate throws.
    const sends = tracing.getFinishedSpans().filter((span) => span.name === 'send hooks.get');
    const processed = tracing.getFinishedSpans().filter((span) => span.name === 'process hooks.get');
    expect(sends).toHaveLength(REQUESTS.length / 4);
    expect(processed).toHaveLength(REQUESTS.length / 4);
    for (const span of processed as ReadableSpan[]) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.links).toHaveLength(1);
    }

    // Every hook ran for these requests, and failed every time.
    const ran = (Object.keys(THROWN) as HookKind[]).map((kind) => [
      kind,
      (calls.get(kind) ?? 0) - (before.get(kind) ?? 0),
    ]);
    expect(ran.filter(([, count]) => (count as number) < REQUESTS.length / 4)).toEqual([]);
  });
});

it('reported each kind of failing hook exactly once, with what it threw, and nothing else', () => {
  const kindOf = (message: string) => /^The (.+) threw;/.exec(message)?.[1] ?? `not a hook report: ${message}`;
  expect(reports.map((report) => kindOf(report.message)).sort()).toEqual(Object.keys(THROWN).sort());
  for (const report of reports) {
    expect(report.args).toEqual([THROWN[kindOf(report.message) as HookKind]]);
    if (typeof report.args[0] === 'object' && report.args[0] !== null) {
      expect(report.args[0]).toBe(THROWN[kindOf(report.message) as HookKind]);
    }
  }
});

/**
 * A native Promise that rejects, and tells whether anyone handled it (its `then` was
 * called, directly or through `catch`, `finally` or `await`). It is silenced with its
 * original `then`, so an unhandled one fails this test, not the process.
 */
class WatchedRejection extends Promise<never> {
  observed = false;

  static of(error: unknown): WatchedRejection {
    const promise = new WatchedRejection((_resolve, reject) => reject(error));
    void Promise.prototype.then.call(promise, undefined, () => undefined);
    return promise;
  }

  override then<TResult1 = never, TResult2 = never>(
    onFulfilled?: ((value: never) => TResult1 | PromiseLike<TResult1>) | null,
    onRejected?: ((reason: unknown) => TResult2 | PromiseLike<TResult2>) | null,
  ): Promise<TResult1 | TResult2> {
    this.observed = true;
    return super.then(onFulfilled, onRejected);
  }
}
// Promises derived from it are plain ones: only calls on the hook's own promise count.
Reflect.defineProperty(WatchedRejection, Symbol.species, { value: Promise });

describe('async hooks whose promise rejects (a requestHook or messageHook may be an async function)', () => {
  const returned: { kind: string; promise: WatchedRejection }[] = [];
  const rejecting = (kind: string) => () => {
    const promise = WatchedRejection.of(new Error(`${kind} rejected`));
    returned.push({ kind, promise });
    return promise;
  };
  let running: { app: INestApplication; url: string };

  beforeAll(async () => {
    running = await startApp('express', {
      // An app's async hooks: TypeScript lets a Promise-returning function be a `=> void` hook.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      http: { requestHook: rejecting('http.requestHook') },
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      microservices: { messageHook: rejecting('microservices.messageHook') },
    });
  });
  afterAll(() => running?.app.close());

  it('answers as usual and handles each rejection (no unhandled rejection)', async () => {
    const answer = await answerOf(running.url, '/hooks/relay/1', true);
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ id: '1', name: 'user 1' }) });
    await tracing.waitForSpans('process hooks.get');
    await new Promise((resolve) => setImmediate(resolve));
    expect(new Set(returned.map(({ kind }) => kind))).toEqual(
      new Set(['http.requestHook', 'microservices.messageHook']),
    );
    expect(returned.filter(({ promise }) => !promise.observed).map(({ kind }) => `${kind} left unhandled`)).toEqual([]);
  });
});
