import { Injectable, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { ApplicationConfig, NestFactory } from '@nestjs/core';
import { TracingError, TracingModule, TracingService, type TracingModuleOptions } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { AppModule } from './app.module';

@Injectable()
class TracingConfig {
  readonly enabled = false;

  createTracingOptions(): TracingModuleOptions {
    return { enabled: this.enabled };
  }
}

@Module({ providers: [TracingConfig], exports: [TracingConfig] })
class ConfigModule {}

describe('TracingModule', () => {
  const tracing = setupTestTracing();
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
    tracing.reset();
  });
  afterAll(() => tracing.shutdown());

  async function start(tracingModule: DynamicModule): Promise<string> {
    app = await NestFactory.create(AppModule.withTracing(tracingModule), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    return app.getUrl();
  }

  async function spansFor(tracingModule: DynamicModule, expectSpans = true): Promise<string[]> {
    const url = await start(tracingModule);
    const response = await fetch(`${url}/users/1`);
    expect(response.status).toBe(200);
    if (expectSpans) {
      // The SERVER span ends when the response closes, just after the client has it.
      await tracing.waitForSpans('GET /users/:id');
    }
    return tracing.getFinishedSpans().map((span) => span.name);
  }

  const traced = ['UsersService.audit', 'UsersService.findOne', 'UsersController.find', 'GET /users/:id'];

  it('traces with forRoot() and no options', async () => {
    expect(await spansFor(TracingModule.forRoot())).toEqual(traced);
  });

  it('registers no global interceptor unless autoInstrument.handlers is on (any one costs every request an rxjs pipeline)', async () => {
    const globalInterceptors = () =>
      app!
        .get(ApplicationConfig)
        .getGlobalInterceptors()
        .filter((interceptor) => interceptor !== null && interceptor !== undefined);
    await start(TracingModule.forRoot());
    expect(globalInterceptors()).toEqual([]);
    await app!.close();
    await start(TracingModule.forRoot({ autoInstrument: { handlers: true } }));
    expect(globalInterceptors()).toHaveLength(1);
  });

  it('creates no spans with enabled: false, and the app answers the same', async () => {
    expect(await spansFor(TracingModule.forRoot({ enabled: false }), false)).toEqual([]);
    const body = (await (await fetch(`${await app!.getUrl()}/service/span`)).json()) as { traceId?: string };
    expect(body.traceId).toBeUndefined();
  });

  it('turns spans back on when the disabled app shuts down', async () => {
    expect(await spansFor(TracingModule.forRoot())).toEqual(traced);
  });

  it.each([
    [
      'useFactory',
      {
        imports: [ConfigModule],
        inject: [TracingConfig],
        useFactory: (config: TracingConfig) => ({ enabled: config.enabled }),
      },
    ],
    ['useClass', { useClass: TracingConfig }],
    ['useExisting', { imports: [ConfigModule], useExisting: TracingConfig }],
  ])('reads forRootAsync options from %s', async (_kind, options) => {
    expect(await spansFor(TracingModule.forRootAsync(options), false)).toEqual([]);
  });

  it('is global: TracingService can be injected from any module', async () => {
    @Injectable()
    class Consumer {
      constructor(readonly tracingService: TracingService) {}
    }
    @Module({ providers: [Consumer] })
    class FeatureModule {}
    const standalone = await NestFactory.createApplicationContext(
      { module: FeatureModule, imports: [TracingModule.forRoot()] } as DynamicModule,
      { logger: false },
    );
    expect(standalone.get(Consumer).tracingService).toBeInstanceOf(TracingService);
    await standalone.close();
  });

  it.each([
    ['forRoot', () => TracingModule.forRoot({ enabled: 'yes' } as unknown as TracingModuleOptions)],
    [
      'forRootAsync',
      () => TracingModule.forRootAsync({ useFactory: () => ({ sampling: 0.5 }) as TracingModuleOptions }),
    ],
  ])('fails at bootstrap with a TracingError on invalid %s options', async (_path, tracingModule) => {
    const bootstrap = NestFactory.create(AppModule.withTracing(tracingModule()), {
      logger: false,
      abortOnError: false,
    });
    await expect(bootstrap).rejects.toThrow(TracingError);
    await expect(
      NestFactory.create(AppModule.withTracing(tracingModule()), { logger: false, abortOnError: false }),
    ).rejects.toThrow(
      /Cannot start TracingModule because (the option "enabled" is the string "yes"|"sampling" is not an option)/,
    );
  });
});
