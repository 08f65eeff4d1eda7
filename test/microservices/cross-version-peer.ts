// The Nest 11 side of a message between two Nest versions, in a process of its own
// (run by test/versions/packet-metadata.e2e-spec.ts with `node -r test/sdk/ts-register.cjs`):
// it loads the repository's own Nest 11 and this module's sources.
//   cross-version-peer.ts server <tcp|redis> <port> <pattern>: answers `pattern` with
//     its data until SIGTERM, then prints its spans.
//   cross-version-peer.ts client <tcp|redis> <port> <pattern>: sends one message on
//     `pattern` inside a `caller` span, prints its spans and exits.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, MessagePattern, Transport, type ClientOptions } from '@nestjs/microservices';
import { createRequire } from 'node:module';
import { firstValueFrom } from 'rxjs';
import { TracingModule, TracingService } from '../../lib';
import { setupTestTracing } from '../../lib/testing';

const [role, transport, port, pattern] = process.argv.slice(2);
const tracing = setupTestTracing();
const options = (
  transport === 'tcp'
    ? { transport: Transport.TCP, options: { host: '127.0.0.1', port: Number(port) } }
    : { transport: Transport.REDIS, options: { host: '127.0.0.1', port: Number(port) } }
) as ClientOptions;

@Controller()
class EchoController {
  @MessagePattern(pattern)
  echo(data: unknown): unknown {
    return data;
  }
}

@Module({ imports: [TracingModule.forRoot()], controllers: [EchoController] })
class PeerModule {}

/** Prints the spans of this process on one line, for the spec to read, then calls `done`. */
function printSpans(done: () => void = () => undefined): void {
  const spans = tracing.getFinishedSpans().map((span) => ({
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
  }));
  const { version } = createRequire(__filename)('@nestjs/core/package.json') as { version: string };
  process.stdout.write(`SPANS ${JSON.stringify({ nest: version, spans })}\n`, done);
}

async function serve(): Promise<void> {
  const service = await NestFactory.createMicroservice(PeerModule, { ...options, logger: false });
  await service.listen();
  process.once('SIGTERM', () => {
    void service.close().then(() => printSpans(() => process.exit(0)));
  });
  console.log('READY');
}

async function send(): Promise<void> {
  const app = await NestFactory.createApplicationContext(PeerModule, { logger: false });
  const client = ClientProxyFactory.create(options);
  await client.connect();
  const reply = await app
    .get(TracingService)
    .startActiveSpan('caller', () => firstValueFrom(client.send<unknown>(pattern, { from: 'nest11' })));
  await client.close();
  await app.close();
  console.log(`REPLY ${JSON.stringify(reply)}`);
  printSpans();
}

(role === 'server' ? serve() : send()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
