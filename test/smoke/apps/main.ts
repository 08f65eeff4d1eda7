// One source for every smoke app: it has no relative imports, so it compiles both as
// CommonJS (Nest 11) and as ESM (Nest 12, "type": "module").
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, Injectable, Module, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  MessagePattern,
  Payload,
  Transport,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { SpanKind } from '@opentelemetry/api';
import { Traced, TracingModule, TracingService } from 'nestjs-tracing';
import { firstValueFrom } from 'rxjs';
import { setupTestTracing } from 'nestjs-tracing/testing';

const tracing = setupTestTracing();

@Injectable()
class GreetingService {
  @Traced()
  async greet(name: string): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return `hello ${name}`;
  }
}

@Controller()
class GreetingController {
  constructor(private readonly greetings: GreetingService) {}

  @Get('greet')
  @Traced()
  greet(@Query('name') name: string): Promise<string> {
    return this.greetings.greet(name);
  }
}

@Controller()
class EchoController {
  constructor(private readonly greetings: GreetingService) {}

  @MessagePattern('greet')
  greet(@Payload() name: string): Promise<string> {
    return this.greetings.greet(name);
  }
}

@Module({ imports: [TracingModule.forRoot()], controllers: [GreetingController], providers: [GreetingService] })
class AppModule {}

@Module({ imports: [TracingModule.forRoot()], controllers: [EchoController], providers: [GreetingService] })
class EchoModule {}

/** A TCP microservice and a client: the CLIENT span parents the SERVER span, across the envelope. */
async function checkMicroservice(): Promise<void> {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const service = await NestFactory.createMicroservice<MicroserviceOptions>(EchoModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
    logger: false,
  });
  await service.listen();
  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  const reply = await service
    .get(TracingService)
    .startActiveSpan('caller', () => firstValueFrom(client.send<string>('greet', 'tcp')));
  client.close();
  await service.close();
  if (reply !== 'hello tcp') {
    throw new Error(`unexpected reply ${reply}`);
  }
  const sent = tracing.expectSpan('send greet', { kind: SpanKind.CLIENT, parent: 'caller' });
  const processed = tracing.expectSpan('process greet', {
    kind: SpanKind.SERVER,
    parent: sent,
    attributes: { 'nestjs.controller': 'EchoController', 'nestjs.handler': 'greet' },
  });
  tracing.expectSpan('GreetingService.greet', { parent: processed });
}

async function main(): Promise<void> {
  const nestVersion = (createRequire(process.cwd() + '/')('@nestjs/core/package.json') as { version: string }).version;
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const response = await fetch(`${await app.getUrl()}/greet?name=smoke`);
  const body = await response.text();
  const [server] = await tracing.waitForSpans('GET /greet');
  await app.close();
  if (response.status !== 200 || body !== 'hello smoke') {
    throw new Error(`unexpected answer ${response.status} ${body}`);
  }
  tracing.expectSpan('GET /greet', {
    kind: SpanKind.SERVER,
    parent: null,
    attributes: { 'http.route': '/greet', 'nestjs.controller': 'GreetingController', 'nestjs.handler': 'greet' },
  });
  const { traceId, spanId } = server.spanContext();
  if (response.headers.get('traceresponse') !== `00-${traceId}-${spanId}-01`) {
    throw new Error(`unexpected traceresponse ${String(response.headers.get('traceresponse'))}`);
  }
  const handler = tracing.expectSpan('GreetingController.greet', { kind: SpanKind.INTERNAL, parent: server });
  tracing.expectSpan('GreetingService.greet', { parent: handler });
  console.log(`smoke ok: Nest ${nestVersion}, ${tracing.getFinishedSpans().length} spans exported`);
  console.log(tracing.renderTree());
  tracing.reset();
  await checkMicroservice();
  console.log(`smoke ok: Nest ${nestVersion} TCP microservice`);
  console.log(tracing.renderTree());
  await tracing.shutdown();
}

/** What one process tells run.sh of its spans, for a trace that crosses two Nest versions. */
function printSpans(nestVersion: string): void {
  const spans = tracing.getFinishedSpans().map((span) => ({
    name: span.name,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
  }));
  console.log(`SPANS ${JSON.stringify({ nestVersion, spans })}`);
}

/**
 * One side of a TCP call between two processes of different Nest versions (run.sh
 * pairs them): `server` answers `greet` on SMOKE_PORT until SIGTERM, then prints its
 * spans; `client` sends one `greet` inside a `caller` span and prints its spans.
 */
async function crossVersion(role: string, port: number): Promise<void> {
  const nestVersion = (createRequire(process.cwd() + '/')('@nestjs/core/package.json') as { version: string }).version;
  if (role === 'server') {
    const service = await NestFactory.createMicroservice<MicroserviceOptions>(EchoModule, {
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
      logger: false,
    });
    await service.listen();
    process.once('SIGTERM', () => {
      void service.close().then(() => {
        printSpans(nestVersion);
        process.exit(0);
      });
    });
    console.log('READY');
    return;
  }
  const app = await NestFactory.createApplicationContext(EchoModule, { logger: false });
  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  await client.connect();
  const reply = await app
    .get(TracingService)
    .startActiveSpan('caller', () => firstValueFrom(client.send<string>('greet', 'cross')));
  client.close();
  await app.close();
  if (reply !== 'hello cross') {
    throw new Error(`unexpected reply ${reply}`);
  }
  printSpans(nestVersion);
}

const role = process.env.SMOKE_ROLE;
(role === undefined ? main() : crossVersion(role, Number(process.env.SMOKE_PORT))).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
