// A traced gateway for the reliability tests, in a process of its own (forked by
// load-harness.ts with --expose-gc and ../sdk/ts-register.cjs), so that each setup has
// its own SDK, heap and RSS. One Nest app (Express, `TracingModule.forRoot()`) serves
// GET /orders/:id over HTTP and asks, over TCP, the `orders.get` handler of its own
// microservice (a hybrid app: the same process, a real TCP round trip), whose
// `@Traced()` repository finds the order. Four spans per request:
//   GET /orders/:id > send orders.get > process orders.get > OrdersRepository.find
// It tells its parent `{ type: 'ready', port }`, and answers `{ type: 'measure',
// flush }` with a `Measure`, taken after a settle and a full GC. Closed by SIGTERM
// (Nest's shutdown hooks, then the SDK's flush on signals).
import { discarding, tracing } from './load-tracing';
import { Controller, Get, Inject, Injectable, Module, Param, Req, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientsModule,
  MessagePattern,
  Payload,
  Transport,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { context, trace } from '@opentelemetry/api';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { Traced, TracingModule } from '../../lib';
import { requestTraceOf } from '../../lib/http/request-trace';
import { messageTraceIn } from '../../lib/microservices/message-trace';

/** What the server reports about itself, after a settle and a full GC. */
export interface Measure {
  /** `process.memoryUsage()`, in bytes. */
  memory: NodeJS.MemoryUsage;
  /** `process.getActiveResourcesInfo()`, counted by type (timers, sockets, servers, …). */
  resources: Record<string, number>;
  /** Listener counts by event: of the HTTP server, of `process`, of the TCP client's socket. */
  listeners: {
    httpServer: Record<string, number>;
    process: Record<string, number>;
    clientSocket: Record<string, number>;
  };
  /** HTTP connections the server still has open. */
  openConnections: number;
  /** Replies the TCP client still waits for (its routing map). */
  pendingReplies: number;
  /** Requests and messages the handlers saw. */
  handled: { requests: number; messages: number };
  /** Spans the discarding exporter received (0 with an OTLP backend). */
  spans: { exported: number; byName: Record<string, number> };
  /** Of the sampled RequestTrace, MessageTrace and span objects, how many are still alive. */
  survivors: Record<'requestTraces' | 'messageTraces' | 'spans', { sampled: number; alive: number }>;
  /** Spans waiting in each batch span processor's queue (read from the SDK's internals; [] if they moved). */
  queued: number[];
}

/** Messages between the test and this process. */
export type ToServer = { type: 'measure'; flush: boolean };
export type FromServer = { type: 'ready'; port: number } | { type: 'measured'; measure: Measure };

const SAMPLE_EVERY = Number(process.env.LOAD_SAMPLE_EVERY ?? 1000);
const ORDERS = 'ORDERS';

const handled = { requests: 0, messages: 0 };
const sampledRequestTraces: WeakRef<object>[] = [];
const sampledMessageTraces: WeakRef<object>[] = [];

@Injectable()
class OrdersRepository {
  @Traced()
  async find(id: number): Promise<{ id: number; item: string }> {
    await new Promise((resolve) => setImmediate(resolve));
    return { id, item: 'book' };
  }
}

@Controller()
class OrdersMessageController {
  constructor(private readonly repository: OrdersRepository) {}

  @MessagePattern('orders.get')
  get(@Payload() id: number) {
    if (++handled.messages % SAMPLE_EVERY === 0) {
      const messageTrace = messageTraceIn(context.active());
      if (messageTrace !== undefined) {
        sampledMessageTraces.push(new WeakRef(messageTrace));
      }
    }
    return this.repository.find(id);
  }
}

@Controller('orders')
class GatewayController {
  constructor(@Inject(ORDERS) private readonly orders: ClientProxy) {}

  @Get(':id')
  find(@Param('id') id: string, @Req() request: object) {
    if (++handled.requests % SAMPLE_EVERY === 0) {
      // Under Express, Nest's request is Node's request: both arguments are the same object.
      const requestTrace = requestTraceOf(request, request);
      if (requestTrace) {
        sampledRequestTraces.push(new WeakRef(requestTrace));
      }
    }
    return firstValueFrom(this.orders.send('orders.get', Number(id)));
  }
}

@Module({})
class LoadModule {
  static with(ordersPort: number): DynamicModule {
    return {
      module: LoadModule,
      imports: [
        TracingModule.forRoot(),
        ClientsModule.register([
          { name: ORDERS, transport: Transport.TCP, options: { host: '127.0.0.1', port: ordersPort } },
        ]),
      ],
      controllers: [GatewayController, OrdersMessageController],
      providers: [OrdersRepository],
    };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function listenerCounts(emitter: NodeJS.EventEmitter | undefined): Record<string, number> {
  if (emitter === undefined) {
    return {};
  }
  return Object.fromEntries(emitter.eventNames().map((name) => [String(name), emitter.listenerCount(name)]));
}

function alive(refs: WeakRef<object>[]): { sampled: number; alive: number } {
  return { sampled: refs.length, alive: refs.filter((ref) => ref.deref() !== undefined).length };
}

/** The span queue of each batch span processor: SDK internals, read for the report only. */
function queuedSpans(): number[] {
  type Internals = { _activeSpanProcessor?: { _spanProcessors?: { _finishedSpans?: unknown[] }[] } };
  const delegate = (trace.getTracerProvider() as { getDelegate?: () => unknown }).getDelegate?.() as
    Internals | undefined;
  return (delegate?._activeSpanProcessor?._spanProcessors ?? []).map(
    (processor) => processor._finishedSpans?.length ?? -1,
  );
}

async function measure(server: Server, client: ClientProxy, flush: boolean): Promise<Measure> {
  if (flush) {
    await tracing.forceFlush();
  }
  // Let closing connections and pending callbacks finish, then collect everything
  // collectable (WeakRefs are cleared only between jobs: a turn between collections).
  await sleep(200);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    throw new Error('load-server needs --expose-gc');
  }
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(20);
  }
  const resources: Record<string, number> = {};
  for (const resource of process.getActiveResourcesInfo()) {
    resources[resource] = (resources[resource] ?? 0) + 1;
  }
  const openConnections = await new Promise<number>((resolve) =>
    server.getConnections((_error, count) => resolve(count)),
  );
  const tcpClient = client as unknown as {
    routingMap?: Map<unknown, unknown>;
    socket?: { netSocket?: NodeJS.EventEmitter } | null;
  };
  return {
    memory: process.memoryUsage(),
    resources,
    listeners: {
      httpServer: listenerCounts(server),
      process: listenerCounts(process),
      clientSocket: listenerCounts(tcpClient.socket?.netSocket ?? undefined),
    },
    openConnections,
    pendingReplies: tcpClient.routingMap?.size ?? -1,
    handled: { ...handled },
    spans: { exported: discarding.exported, byName: { ...discarding.byName } },
    survivors: {
      requestTraces: alive(sampledRequestTraces),
      messageTraces: alive(sampledMessageTraces),
      spans: alive(discarding.sampled),
    },
    queued: queuedSpans(),
  };
}

async function main(): Promise<void> {
  const ordersPort = await freePort();
  const app = await NestFactory.create(LoadModule.with(ordersPort), { logger: ['error', 'warn'] });
  app.connectMicroservice<MicroserviceOptions>(
    { transport: Transport.TCP, options: { host: '127.0.0.1', port: ordersPort } },
    { inheritAppConfig: true },
  );
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  const client = app.get<ClientProxy>(ORDERS);
  // Connected now, outside any request: a connection opened by the first request
  // would keep that request's context as its own for as long as it lives.
  await client.connect();
  process.on('message', (received: unknown) => {
    const message = received as ToServer;
    if (message.type === 'measure') {
      void measure(server, client, message.flush).then((measured) =>
        process.send?.({ type: 'measured', measure: measured } satisfies FromServer),
      );
    }
  });
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port } satisfies FromServer);
}

void main();
