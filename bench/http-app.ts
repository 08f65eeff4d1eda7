// The app every variant of the HTTP benchmark serves: GET /users/:id, whose handler
// awaits a service. Loaded only after the variant has set up tracing.
import {
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  type DynamicModule,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TracingModule } from 'nestjs-tracing';
import type { Variant } from './http-server';

@Injectable()
class UsersService {
  async find(id: string): Promise<{ id: string; name: string }> {
    await Promise.resolve();
    return { id, name: `user ${id}` };
  }
}

@Controller('users')
class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get(':id')
  find(@Param('id') id: string) {
    return this.users.find(id);
  }
}

/** What the app uses of nestjs-otel 7 (a dev dependency of bench/ only, hence no import). */
interface NestjsOtel {
  OpenTelemetryModule: { forRoot(): DynamicModule };
  Span(): MethodDecorator;
}

/** What the app uses of @amplication/opentelemetry-nestjs 6 (a dev dependency of bench/ only). */
interface Amplication {
  OpenTelemetryModule: { forRoot(): DynamicModule };
}

/** The same service with nestjs-otel's `@Span()` on its method: a span per call. */
function spannedUsersService(Span: NestjsOtel['Span']): Type<UsersService> {
  @Injectable()
  class SpannedUsersService extends UsersService {
    @Span()
    override async find(id: string): Promise<{ id: string; name: string }> {
      await Promise.resolve();
      return { id, name: `user ${id}` };
    }
  }
  return SpannedUsersService;
}

/** The tracing module the variant's app imports, and its UsersService. */
function tracingOf(variant: Variant): { imports: DynamicModule[]; usersService: Type<UsersService> } {
  if (variant.startsWith('nestjs-tracing')) {
    return { imports: [TracingModule.forRoot()], usersService: UsersService };
  }
  if (variant === 'nestjs-otel') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OpenTelemetryModule, Span } = require('nestjs-otel') as NestjsOtel;
    return { imports: [OpenTelemetryModule.forRoot()], usersService: spannedUsersService(Span) };
  }
  if (variant === 'amplication') {
    // Its defaults: every instrumentation of its module (controllers, guards, pipes,
    // interceptors, event emitter, schedule, console logger, @Span-decorated methods).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OpenTelemetryModule } = require('@amplication/opentelemetry-nestjs') as Amplication;
    return { imports: [OpenTelemetryModule.forRoot()], usersService: UsersService };
  }
  return { imports: [], usersService: UsersService };
}

@Module({})
class BenchModule {
  static for(variant: Variant): DynamicModule {
    const { imports, usersService } = tracingOf(variant);
    return {
      module: BenchModule,
      imports,
      controllers: [UsersController],
      providers: [{ provide: UsersService, useClass: usersService }],
    };
  }
}

export async function createApp(variant: Variant): Promise<INestApplication> {
  const module = BenchModule.for(variant);
  return variant.endsWith('-fastify')
    ? NestFactory.create(module, new FastifyAdapter(), { logger: false })
    : NestFactory.create(module, { logger: false });
}
