// One source for every smoke app: it has no relative imports, so it compiles both as
// CommonJS (Nest 11) and as ESM (Nest 12, "type": "module").
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, Injectable, Module, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanKind } from '@opentelemetry/api';
import { Traced, TracingModule } from 'nestjs-tracing';
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

@Module({ imports: [TracingModule.forRoot()], controllers: [GreetingController], providers: [GreetingService] })
class AppModule {}

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
  tracing.expectSpan('GET /greet', { kind: SpanKind.SERVER, parent: null, attributes: { 'http.route': '/greet' } });
  const { traceId, spanId } = server.spanContext();
  if (response.headers.get('traceresponse') !== `00-${traceId}-${spanId}-01`) {
    throw new Error(`unexpected traceresponse ${String(response.headers.get('traceresponse'))}`);
  }
  const handler = tracing.expectSpan('GreetingController.greet', { kind: SpanKind.INTERNAL, parent: server });
  tracing.expectSpan('GreetingService.greet', { parent: handler });
  console.log(`smoke ok: Nest ${nestVersion}, ${tracing.getFinishedSpans().length} spans exported`);
  console.log(tracing.renderTree());
  await tracing.shutdown();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
