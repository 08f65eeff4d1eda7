import {
  BadRequestException,
  Body,
  Controller,
  GatewayTimeoutException,
  Get,
  Inject,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Post,
  Res,
  Sse,
  StreamableFile,
  UseInterceptors,
  type CallHandler,
  type DynamicModule,
  type ExecutionContext,
  type INestApplication,
  type INestMicroservice,
  type MessageEvent,
  type NestInterceptor,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientsModule,
  EventPattern,
  MessagePattern,
  Payload,
  type ClientProvider,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { diag, DiagLogLevel, trace, type Context, type DiagLogger } from '@opentelemetry/api';
import type { ReadableSpan, Span as SdkSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Traced, TracingModule, type TracingModuleOptions } from 'nestjs-tracing';
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import {
  catchError,
  firstValueFrom,
  interval,
  lastValueFrom,
  map,
  mergeMap,
  NEVER,
  take,
  timeout,
  timer,
  TimeoutError,
  type Observable,
} from 'rxjs';

// ---------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------

export const ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The trace id of the active span, or `'none'`. */
export const activeTraceId = (): string => trace.getActiveSpan()?.spanContext().traceId ?? 'none';

/** The seed of every delay the apps wait: the same request waits the same, run after run. */
export const SEED = 0x5eed_2026;

/** A number in [0, 1) from the seed, a request id and a step: random-looking, reproducible. */
function seeded(id: number, step: number): number {
  // mulberry32 over a mix of the three
  let t = (SEED ^ Math.imul(id + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca77)) >>> 0;
  t = (t + 0x6d2b79f5) >>> 0;
  let r = Math.imul(t ^ (t >>> 15), 1 | t);
  r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
  return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
}

/** A small delay (0 to `max` - 1 ms) for step `step` of request `id`. */
export const seededDelay = (id: number, step: number, max = 4): number => Math.floor(seeded(id, step) * max);

/** How many requests a server is handling at once, and the most it ever handled. */
export class InFlight {
  current = 0;
  peak = 0;

  enter(): void {
    this.current += 1;
    this.peak = Math.max(this.peak, this.current);
  }

  exit(): void {
    this.current -= 1;
  }
}

/** Runs `task(0..count-1)` with at most `concurrency` at once; resolves with the results in order. */
export async function runPool<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A GET over a keep-alive agent; resolves with the whole answer. */
export function httpGet(agent: Agent, url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

/**
 * A request the client abandons: `leave` decides when, given the request and what
 * was received so far (`undefined` before the response's headers), by destroying the
 * request. With `partialBody`, the request sends its headers and that much of a body
 * it says is longer, and waits. Resolves with what it saw once the socket is closed.
 */
export function abandonedRequest(
  agent: Agent,
  url: string,
  leave: (abort: () => void, received: string | undefined) => void,
  {
    method = 'GET',
    headers = {},
    partialBody,
  }: { method?: string; headers?: Record<string, string>; partialBody?: string } = {},
): Promise<{ status?: number; received: string; gaveUp: boolean }> {
  return new Promise((resolve) => {
    let received = '';
    let status: number | undefined;
    let gaveUp = false;
    const request = httpRequest(url, { agent, method, headers }, (response) => {
      status = response.statusCode;
      response.on('data', (chunk: Buffer) => {
        received += chunk.toString();
        leave(abort, received);
      });
      response.on('error', () => undefined);
    });
    const abort = () => request.destroy();
    // A request the test never leaves would hang the run: give up after 5 s.
    const deadline = setTimeout(() => {
      gaveUp = true;
      abort();
    }, 5000);
    request.on('error', () => undefined);
    request.on('close', () => {
      clearTimeout(deadline);
      resolve({ status, received, gaveUp });
    });
    if (partialBody === undefined) {
      request.end();
    } else {
      request.write(partialBody);
    }
    leave(abort, undefined);
  });
}

/** The base URL of an app listening on loopback. */
export async function urlOf(app: INestApplication): Promise<string> {
  return (await app.getUrl()).replace('[::1]', '127.0.0.1');
}

function httpAdapterOf(adapter: AdapterName) {
  return adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter();
}

// ---------------------------------------------------------------------------------
// A span processor that counts starts, ends and calls of end() per span, and a diag
// logger that keeps what the SDK and the module report
// ---------------------------------------------------------------------------------

export interface LedgerEntry {
  name: string;
  traceId: string;
  starts: number;
  /** Calls of `span.end()` (the SDK ignores all but the first, with a diag error). */
  endCalls: number;
  /** `onEnd` calls the processor got. */
  ends: number;
}

/**
 * Counts, per span id, how often a span started, how often `end()` was called on it
 * and how often the SDK reported it ended. Pass it to `setupTestTracing({ spanProcessors })`.
 */
export class SpanLedger implements SpanProcessor {
  readonly entries = new Map<string, LedgerEntry>();

  onStart(span: SdkSpan, _parentContext: Context): void {
    const { traceId, spanId } = span.spanContext();
    const key = `${traceId}-${spanId}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { name: span.name, traceId, starts: 0, endCalls: 0, ends: 0 };
      this.entries.set(key, entry);
    }
    entry.starts += 1;
    const counted = entry;
    const end = span.end;
    span.end = function (this: SdkSpan, ...args: Parameters<SdkSpan['end']>) {
      counted.endCalls += 1;
      return end.apply(this, args);
    };
  }

  onEnd(span: ReadableSpan): void {
    const { traceId, spanId } = span.spanContext();
    const entry = this.entries.get(`${traceId}-${spanId}`);
    if (entry === undefined) {
      this.entries.set(`${traceId}-${spanId}`, { name: span.name, traceId, starts: 0, endCalls: 0, ends: 1 });
      return;
    }
    entry.name = span.name;
    entry.ends += 1;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  reset(): void {
    this.entries.clear();
  }

  /** Spans started but not (yet) ended. */
  open(): LedgerEntry[] {
    return [...this.entries.values()].filter((entry) => entry.ends === 0);
  }

  /** Totals and the spans that broke a rule. */
  summary() {
    const entries = [...this.entries.values()];
    return {
      spans: entries.length,
      started: entries.reduce((sum, entry) => sum + entry.starts, 0),
      ended: entries.reduce((sum, entry) => sum + entry.ends, 0),
      endCalls: entries.reduce((sum, entry) => sum + entry.endCalls, 0),
      startedTwice: entries.filter((entry) => entry.starts > 1),
      endedWithoutStart: entries.filter((entry) => entry.starts === 0),
      endCalledTwice: entries.filter((entry) => entry.endCalls > 1),
      reportedEndedTwice: entries.filter((entry) => entry.ends > 1),
      open: entries.filter((entry) => entry.ends === 0),
    };
  }

  /** How many spans of each name, e.g. to report the mix. */
  countByName(entries: LedgerEntry[] = [...this.entries.values()]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const entry of entries) {
      counts[entry.name] = (counts[entry.name] ?? 0) + 1;
    }
    return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** A diag logger that keeps every message at WARN and above. */
export class DiagRecorder implements DiagLogger {
  readonly messages: { level: 'error' | 'warn'; message: string }[] = [];

  error = (message: string): void => {
    this.messages.push({ level: 'error', message });
  };
  warn = (message: string): void => {
    this.messages.push({ level: 'warn', message });
  };
  info = (): void => undefined;
  debug = (): void => undefined;
  verbose = (): void => undefined;

  install(): void {
    diag.setLogger(this, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  }

  /** The SDK's `"... - You can only call end() on a span once."`: a span ended twice. */
  endedTwice(): string[] {
    return this.messages
      .filter((m) => m.message.includes('You can only call end() on a span once'))
      .map((m) => m.message);
  }

  /** The SDK's `"Cannot execute the operation on ended Span ..."`: a write to a span after its end. */
  writesAfterEnd(): string[] {
    return this.messages
      .filter((m) => m.message.includes('Cannot execute the operation on ended Span'))
      .map((m) => m.message);
  }

  reset(): void {
    this.messages.length = 0;
  }
}

// ---------------------------------------------------------------------------------
// Concurrency: a gateway whose handler interleaves timers, a @Traced provider, a
// @Traced Observable and microservice calls over several transports
// ---------------------------------------------------------------------------------

/** Patterns of this run only, so tests sharing a broker never answer each other. */
const RUN = randomUUID().slice(0, 8);
export const WORK_PATTERN = `reliability.${RUN}.work`;
export const WORK_EVENT = `reliability.${RUN}.done`;

/** The trace ids the service's event handler ran in, by request id (one per transport). */
export const eventTraceIds = new Map<string, string[]>();

/** What the service answers: the id it was sent and the trace ids it saw. */
export interface WorkReply {
  id: string;
  /** In the handler, after its own timer and the provider. */
  traceId: string;
  /** Inside the @Traced provider of the service. */
  storeTraceId: string;
}

/** What the gateway answers. */
export interface WorkAnswer {
  id: string;
  /** The trace ids the gateway's code saw at each step (handler, provider, Observable). */
  seen: string[];
  replies: (WorkReply & { transport: string; callerTraceId: string })[];
}

const workAttributes = (id: string) => ({ 'work.id': id });

@Injectable()
export class WorkStore {
  @Traced({ attributes: workAttributes })
  async compute(id: string): Promise<string> {
    await sleep(seededDelay(Number(id), 11));
    return activeTraceId();
  }
}

@Controller()
export class WorkMessageController {
  constructor(private readonly store: WorkStore) {}

  @MessagePattern(WORK_PATTERN)
  async work(@Payload() payload: { id: string }): Promise<WorkReply> {
    await sleep(seededDelay(Number(payload.id), 10));
    const storeTraceId = await this.store.compute(payload.id);
    return { id: payload.id, traceId: activeTraceId(), storeTraceId };
  }

  @EventPattern(WORK_EVENT)
  async done(@Payload() payload: { id: string }): Promise<void> {
    await sleep(seededDelay(Number(payload.id), 12));
    const seen = eventTraceIds.get(payload.id) ?? [];
    seen.push(activeTraceId());
    eventTraceIds.set(payload.id, seen);
  }
}

@Module({})
export class WorkServiceModule {
  static with(options: TracingModuleOptions = {}): DynamicModule {
    return {
      module: WorkServiceModule,
      imports: [TracingModule.forRoot(options)],
      controllers: [WorkMessageController],
      providers: [WorkStore],
    };
  }
}

@Injectable()
export class WorkSteps {
  @Traced({ attributes: workAttributes })
  async prepare(id: string): Promise<string> {
    await sleep(seededDelay(Number(id), 1));
    return activeTraceId();
  }

  @Traced({ attributes: workAttributes })
  observe(id: string): Observable<string> {
    return timer(seededDelay(Number(id), 2)).pipe(map(() => activeTraceId()));
  }
}

/** The gateway's clients, one per transport, in a fixed order. */
export const WORK_CLIENTS = 'WORK_CLIENTS';
export interface WorkClient {
  transport: string;
  client: ClientProxy;
}

/** Counts the gateway's requests in flight. */
export const workInFlight = new InFlight();

@Controller('work')
export class WorkController {
  constructor(
    private readonly steps: WorkSteps,
    @Inject(WORK_CLIENTS) private readonly clients: WorkClient[],
  ) {}

  @Get(':id')
  async work(@Param('id') id: string): Promise<WorkAnswer> {
    const n = Number(id);
    const seen: string[] = [];
    workInFlight.enter();
    try {
      await sleep(seededDelay(n, 0));
      seen.push(activeTraceId());
      seen.push(await this.steps.prepare(id));
      seen.push(activeTraceId());
      seen.push(await lastValueFrom(this.steps.observe(id)));
      seen.push(activeTraceId());
      // Every transport at once, each behind a timer of its own, in an Observable pipeline.
      const replies = await Promise.all(
        this.clients.map(({ transport, client }, index) =>
          lastValueFrom(
            timer(seededDelay(n, 3 + index)).pipe(
              mergeMap(() => client.send<WorkReply>(WORK_PATTERN, { id })),
              map((reply) => ({ ...reply, transport, callerTraceId: activeTraceId() })),
            ),
          ),
        ),
      );
      seen.push(activeTraceId());
      // And an event to every transport.
      await Promise.all(
        this.clients.map(({ client }) => lastValueFrom(client.emit(WORK_EVENT, { id }), { defaultValue: undefined })),
      );
      seen.push(activeTraceId());
      return { id, seen, replies };
    } finally {
      workInFlight.exit();
    }
  }
}

@Module({})
class WorkGatewayModule {}

export interface TransportSetup {
  transport: string;
  server: MicroserviceOptions;
  client: ClientProvider;
}

export async function startWorkServices(transports: TransportSetup[]): Promise<INestMicroservice[]> {
  const services: INestMicroservice[] = [];
  for (const { server } of transports) {
    const service = await NestFactory.createMicroservice<MicroserviceOptions>(WorkServiceModule.with(), {
      ...server,
      logger: false,
    });
    await service.listen();
    services.push(service);
  }
  return services;
}

export async function startWorkGateway(adapter: AdapterName, transports: TransportSetup[]): Promise<INestApplication> {
  const tokens = transports.map(({ transport }) => `WORK_${transport.toUpperCase()}`);
  const module: DynamicModule = {
    module: WorkGatewayModule,
    imports: [
      TracingModule.forRoot(),
      ClientsModule.register(transports.map(({ client }, index) => ({ name: tokens[index], ...client }) as never)),
    ],
    controllers: [WorkController],
    providers: [
      WorkSteps,
      {
        provide: WORK_CLIENTS,
        useFactory: (...clients: ClientProxy[]): WorkClient[] =>
          clients.map((client, index) => ({ transport: transports[index].transport, client })),
        inject: tokens,
      },
    ],
  };
  const gateway = await NestFactory.create(module, httpAdapterOf(adapter), { logger: false });
  await gateway.listen(0, '127.0.0.1');
  return gateway;
}

// ---------------------------------------------------------------------------------
// Ends-once: a gateway whose routes succeed, throw, stall, stream, and time out
// ---------------------------------------------------------------------------------

export const EDGE_OK = 'edge.ok';
export const EDGE_LATE = 'edge.late';
export const EDGE_NEVER = 'edge.never';
export const EDGE_CLIENT = 'EDGE_CLIENT';

export const EDGE_STREAM = 'edge.stream';
export const EDGE_FAIL = 'edge.fail';

/** What the client waits for before it leaves: a handler or a request span that started. */
const startWaiters = new Map<string, () => void>();

function whenStarts(key: string): Promise<void> {
  return new Promise((resolve) => startWaiters.set(key, resolve));
}

function starts(key: string): void {
  startWaiters.get(key)?.();
  startWaiters.delete(key);
}

/** Resolves once the handler of request `id` has started. Call it before sending the request. */
export const whenHandlerStarts = (id: string) => whenStarts(`handler ${id}`);
const handlerStarts = (id: string) => starts(`handler ${id}`);

/** Resolves once the SERVER span of a request to `path` has started. Call it before sending the request. */
export const whenRequestStarts = (path: string) => whenStarts(`request ${path}`);

/** An `http.requestHook`: tells `whenRequestStarts()` that a request's span started. */
export const requestStarts = (_span: unknown, request: { url?: string }): void => starts(`request ${request.url}`);

@Controller()
export class EdgeMessageController {
  @MessagePattern(EDGE_OK)
  ok(@Payload() id: string) {
    return { id };
  }

  /** Answers well after the gateway's 20 ms timeout. */
  @MessagePattern(EDGE_LATE)
  async late(@Payload() id: string) {
    await sleep(40 + seededDelay(Number(id), 20, 20));
    return { id };
  }

  /** Five replies, 3 ms apart: the gateway takes the first. */
  @MessagePattern(EDGE_STREAM)
  stream(@Payload() id: string): Observable<{ id: string; reply: number }> {
    return interval(3).pipe(
      take(5),
      map((reply) => ({ id, reply })),
    );
  }

  /** Fails after an await, with a plain Error. */
  @MessagePattern(EDGE_FAIL)
  async fail(@Payload() id: string): Promise<never> {
    await sleep(1);
    throw new Error(`${id} failed in the service`);
  }

  /** Never answers. */
  @MessagePattern(EDGE_NEVER)
  never(): Observable<never> {
    return NEVER;
  }
}

@Module({})
export class EdgeServiceModule {
  static with(options: TracingModuleOptions = {}): DynamicModule {
    return {
      module: EdgeServiceModule,
      imports: [TracingModule.forRoot(options)],
      controllers: [EdgeMessageController],
    };
  }
}

const edgeAttributes = (id: string) => ({ 'edge.id': id });

@Injectable()
export class EdgeWork {
  @Traced({ attributes: edgeAttributes })
  async ok(id: string) {
    await sleep(1);
    return { id };
  }

  @Traced({ attributes: edgeAttributes })
  async failHttp(id: string): Promise<never> {
    await sleep(1);
    throw new NotFoundException(`no ${id}`);
  }

  @Traced({ attributes: edgeAttributes })
  async failError(id: string): Promise<never> {
    await sleep(1);
    throw new Error(`${id} failed`);
  }

  /** Waits until the client has left (at most 2 s), then a little more. */
  @Traced({ attributes: edgeAttributes })
  async slow(id: string, clientLeft: Promise<void>) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([clientLeft, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    await sleep(1);
    return { id };
  }

  /** An endless stream of values, one every 2 ms. */
  @Traced({ attributes: edgeAttributes })
  ticks(id: string): Observable<MessageEvent> {
    return interval(2).pipe(map((tick) => ({ data: { id, tick } })));
  }

  /** A Node stream of 200 chunks, one every 2 ms (longer than the client stays). */
  @Traced({ attributes: edgeAttributes })
  chunks(id: string): Readable {
    let sent = 0;
    return new Readable({
      read() {
        setTimeout(() => {
          sent += 1;
          if (!this.destroyed) {
            this.push(sent > 200 ? null : `${id}:${sent}\n`);
          }
        }, 2);
      },
    });
  }
}

/** Unsubscribes from the handler's Observable after its first value. */
@Injectable()
export class TakeOneInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(take(1));
  }
}

@Controller('edge')
export class EdgeController {
  constructor(
    private readonly work: EdgeWork,
    @Inject(EDGE_CLIENT) private readonly client: ClientProxy,
  ) {}

  @Get('ok/:id')
  async ok(@Param('id') id: string) {
    const result = await this.work.ok(id);
    const reply = await firstValueFrom(this.client.send<{ id: string }>(EDGE_OK, id));
    return { ...result, reply };
  }

  @Get('sync-http/:id')
  syncHttp(@Param('id') id: string): never {
    throw new BadRequestException(`bad ${id}`);
  }

  @Get('sync-error/:id')
  syncError(@Param('id') id: string): never {
    throw new Error(`${id} broke`);
  }

  @Get('async-http/:id')
  async asyncHttp(@Param('id') id: string) {
    return this.work.failHttp(id);
  }

  @Get('async-error/:id')
  async asyncError(@Param('id') id: string) {
    return this.work.failError(id);
  }

  /**
   * The client leaves while this waits; it goes on once the server saw it leave
   * (else, on a loaded machine, a timer could let it answer first).
   */
  @Get('abort/:id')
  async abort(@Param('id') id: string, @Res({ passthrough: true }) response: object) {
    const raw = ((response as { raw?: ServerResponse }).raw ?? response) as ServerResponse;
    const clientLeft = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    handlerStarts(id);
    const result = await this.work.slow(id, clientLeft);
    const reply = await firstValueFrom(this.client.send<{ id: string }>(EDGE_OK, id));
    return { ...result, reply };
  }

  /** The client leaves while it is still sending this body. */
  @Post('abort-body/:id')
  abortBody(@Param('id') id: string, @Body() body: unknown) {
    return { id, body };
  }

  /** Takes the first of the service's replies (`firstValueFrom` unsubscribes). */
  @Get('ms-stream/:id')
  msStream(@Param('id') id: string) {
    return firstValueFrom(this.client.send<{ id: string; reply: number }>(EDGE_STREAM, id));
  }

  /** The service fails: the gateway answers 500. */
  @Get('ms-error/:id')
  msError(@Param('id') id: string) {
    return firstValueFrom(this.client.send(EDGE_FAIL, id));
  }

  /** The client leaves after a few events. */
  @Sse('sse/:id')
  sse(@Param('id') id: string): Observable<MessageEvent> {
    return this.work.ticks(id);
  }

  /** The interceptor unsubscribes after the first value. */
  @Get('take-one/:id')
  @UseInterceptors(TakeOneInterceptor)
  takeOne(@Param('id') id: string): Observable<MessageEvent> {
    return this.work.ticks(id);
  }

  /** The client leaves after the first chunk. */
  @Get('stream/:id')
  stream(@Param('id') id: string): StreamableFile {
    return new StreamableFile(this.work.chunks(id));
  }

  @Get('late/:id')
  late(@Param('id') id: string) {
    return this.sendWithTimeout(EDGE_LATE, id);
  }

  @Get('never/:id')
  never(@Param('id') id: string) {
    return this.sendWithTimeout(EDGE_NEVER, id);
  }

  private sendWithTimeout(pattern: string, id: string) {
    return firstValueFrom(
      this.client.send<{ id: string }>(pattern, id).pipe(
        timeout(20),
        catchError((error: unknown) => {
          throw error instanceof TimeoutError ? new GatewayTimeoutException(`${pattern} timed out`) : error;
        }),
      ),
    );
  }
}

@Module({})
class EdgeGatewayModule {}

export async function startEdgeService(
  server: MicroserviceOptions,
  options: TracingModuleOptions = {},
): Promise<INestMicroservice> {
  const service = await NestFactory.createMicroservice<MicroserviceOptions>(EdgeServiceModule.with(options), {
    ...server,
    logger: false,
  });
  await service.listen();
  return service;
}

export async function startEdgeGateway(
  adapter: AdapterName,
  client: ClientProvider,
  options: TracingModuleOptions = {},
): Promise<INestApplication> {
  const module: DynamicModule = {
    module: EdgeGatewayModule,
    imports: [TracingModule.forRoot(options), ClientsModule.register([{ name: EDGE_CLIENT, ...client } as never])],
    controllers: [EdgeController],
    providers: [EdgeWork, TakeOneInterceptor],
  };
  const gateway = await NestFactory.create(module, httpAdapterOf(adapter), { logger: false });
  await gateway.listen(0, '127.0.0.1');
  return gateway;
}
