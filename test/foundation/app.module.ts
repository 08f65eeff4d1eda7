import {
  Body,
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Headers,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Post,
  SetMetadata,
  UseGuards,
  type DynamicModule,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import type { Span } from '@opentelemetry/api';
import { CurrentSpan, Traced, TracingModule, TracingService, type TracingModuleOptions } from 'nestjs-tracing';
import { defer, Observable, of, toArray } from 'rxjs';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ROLES = 'roles';
const Roles = (...roles: string[]) => SetMetadata(ROLES, roles);

/** Lets a request through only when the handler's `@Roles()` metadata survived. */
@Injectable()
class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    return this.reflector.get<string[] | undefined>(ROLES, context.getHandler())?.includes('admin') ?? false;
  }
}

@Injectable()
export class UsersService {
  @Traced()
  async findOne(id: string) {
    await sleep(1);
    this.audit(id);
    return { id, name: `user ${id}` };
  }

  @Traced()
  watch(id: string): Observable<string> {
    return defer(() => {
      this.audit(id);
      return of(`${id}:created`, `${id}:updated`);
    });
  }

  @Traced()
  async *history(id: string): AsyncGenerator<string> {
    for (const change of ['a', 'b', 'c']) {
      await sleep(1);
      this.audit(id);
      yield change;
    }
  }

  @Traced()
  audit(_id: string): void {}

  @Traced()
  async missing(id: string): Promise<never> {
    await sleep(1);
    throw new NotFoundException(`no user ${id}`);
  }
}

@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get(':id')
  @Traced()
  @UseGuards(RolesGuard)
  @Roles('admin')
  async find(@Param('id') id: string, @CurrentSpan() span: Span) {
    span.setAttribute('user.id', id);
    const user = await this.users.findOne(id);
    return { ...user, spanId: span.spanContext().spanId };
  }

  @Roles('admin')
  @UseGuards(RolesGuard)
  @Post(':id/tags')
  @Traced('tag user')
  tag(@Param('id') id: string, @Body() body: { tag: string }) {
    return { id, tag: body.tag };
  }

  @Get(':id/changes')
  @Traced()
  changes(@Param('id') id: string): Observable<string[]> {
    return this.users.watch(id).pipe(toArray());
  }

  @Get(':id/history')
  @Traced()
  async history(@Param('id') id: string) {
    const changes: string[] = [];
    for await (const change of this.users.history(id)) {
      changes.push(change);
    }
    return changes;
  }

  @Get(':id/missing')
  @Traced()
  missing(@Param('id') id: string) {
    return this.users.missing(id);
  }
}

@Controller('service')
export class ServiceController {
  constructor(private readonly tracing: TracingService) {}

  @Get('span')
  manual() {
    return this.tracing.startActiveSpan('manual work', { attributes: { 'work.kind': 'manual' } }, async (span) => {
      await sleep(1);
      this.tracing.setAttributes({ 'work.items': 3 });
      this.tracing.addEvent('halfway', { 'work.done': 1 });
      this.tracing.recordException(new Error('handled'));
      return {
        traceId: this.tracing.getTraceId(),
        spanId: span.spanContext().spanId,
        sameSpan: this.tracing.getActiveSpan() === span,
        carrier: this.tracing.inject({}),
        tracer: typeof this.tracing.getTracer().startSpan,
      };
    });
  }

  @Get('no-span')
  noSpan(@CurrentSpan() span: Span) {
    this.tracing.setAttributes({ ignored: true });
    this.tracing.addEvent('ignored');
    this.tracing.recordException(new Error('ignored'));
    return {
      traceId: this.tracing.getTraceId() ?? null,
      active: this.tracing.getActiveSpan() !== undefined,
      carrier: this.tracing.inject({}),
      spanRecording: span.isRecording(),
    };
  }

  @Get('continue')
  continue(@Headers() headers: Record<string, string>) {
    const parent = this.tracing.extract(headers);
    return this.tracing.startActiveSpan('continued', {}, parent, (span) => ({
      traceId: span.spanContext().traceId,
    }));
  }
}

export const receivedEvents: unknown[] = [];

@Controller()
export class UsersRpcController {
  @MessagePattern('users.get')
  @Traced()
  get(@Payload() id: number, @CurrentSpan() span: Span) {
    span.setAttribute('user.id', id);
    return { id, spanId: span.spanContext().spanId };
  }

  @EventPattern('users.created')
  @Traced()
  created(@Payload() user: unknown) {
    receivedEvents.push(user);
  }
}

@Module({})
export class AppModule {
  static with(options: TracingModuleOptions = {}): DynamicModule {
    return this.withTracing(TracingModule.forRoot(options));
  }

  static withTracing(tracing: DynamicModule): DynamicModule {
    return {
      module: AppModule,
      imports: [tracing],
      controllers: [UsersController, ServiceController, UsersRpcController],
      providers: [UsersService, RolesGuard],
    };
  }
}
