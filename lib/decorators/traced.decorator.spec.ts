import 'reflect-metadata';
import { CanActivate, Controller, Get, Injectable, Param, Post, SetMetadata, UseGuards } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { PATTERN_METADATA } from '@nestjs/microservices/constants';
import { SpanKind } from '@opentelemetry/api';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { CurrentSpan } from './current-span.decorator';
import { Traced } from './traced.decorator';
import { Untraced } from './untraced.decorator';

const ON_EVENT = 'EVENT_LISTENER_METADATA';
const OnEvent = (event: string) => SetMetadata(ON_EVENT, [{ event }]);
const SWAGGER = 'swagger/apiResponse';
const ApiResponse = (status: number) => SetMetadata(SWAGGER, { [status]: { description: 'ok' } });

@Injectable()
class AllowGuard implements CanActivate {
  canActivate() {
    return true;
  }
}

@Controller('users')
class TracedAbove {
  @Traced()
  @Get(':id')
  @UseGuards(AllowGuard)
  @ApiResponse(200)
  find(@Param('id') id: string, _extra?: number): string {
    return id;
  }

  @Traced()
  @Post(':id/tags')
  tag(@Param('id') id: string): string {
    return id;
  }

  @Traced()
  @MessagePattern('users.get')
  get(data: unknown) {
    return data;
  }

  @Traced()
  @EventPattern('users.created')
  created(_data: unknown) {}

  @Traced()
  @OnEvent('user.deleted')
  deleted(_data: unknown) {}
}

@Controller('users')
class TracedBelow {
  @Get(':id')
  @UseGuards(AllowGuard)
  @ApiResponse(200)
  @Traced()
  find(@Param('id') id: string, _extra?: number): string {
    return id;
  }

  @Post(':id/tags')
  @Traced()
  tag(@Param('id') id: string): string {
    return id;
  }

  @MessagePattern('users.get')
  @Traced()
  get(data: unknown) {
    return data;
  }

  @EventPattern('users.created')
  @Traced()
  created(_data: unknown) {}

  @OnEvent('user.deleted')
  @Traced()
  deleted(_data: unknown) {}
}

@Controller('users')
class Untouched {
  @Get(':id')
  @UseGuards(AllowGuard)
  @ApiResponse(200)
  find(@Param('id') id: string, _extra?: number): string {
    return id;
  }

  @Post(':id/tags')
  tag(@Param('id') id: string): string {
    return id;
  }

  @MessagePattern('users.get')
  get(data: unknown) {
    return data;
  }

  @EventPattern('users.created')
  created(_data: unknown) {}

  @OnEvent('user.deleted')
  deleted(_data: unknown) {}
}

function metadataOf(target: Function, method: string): Record<string, unknown> {
  const fn = (target.prototype as Record<string, Function>)[method];
  return Object.fromEntries(
    Reflect.getOwnMetadataKeys(fn).map((key) => [String(key), Reflect.getOwnMetadata(key, fn)]),
  );
}

describe('@Traced', () => {
  const tracing = setupTestTracing();
  afterEach(() => tracing.reset());
  afterAll(() => tracing.shutdown());

  describe.each([
    ['above', TracedAbove],
    ['below', TracedBelow],
  ])('placed %s the other decorators', (_place, decorated) => {
    it.each(['find', 'tag', 'get', 'created', 'deleted'])('keeps every metadata key of %s', (method) => {
      expect(metadataOf(decorated, method)).toEqual(metadataOf(Untouched, method));
      expect(Object.keys(metadataOf(decorated, method)).length).toBeGreaterThan(0);
    });

    it('keeps the name and length of the method', () => {
      const find = (decorated.prototype as Untouched).find;
      expect(find.name).toBe('find');
      expect(find.length).toBe(Untouched.prototype.find.length);
    });

    it('keeps the route, guard, pattern and design metadata Nest reads', () => {
      const proto = decorated.prototype as Untouched;
      expect(Reflect.getMetadata(PATH_METADATA, proto.find)).toBe(':id');
      expect(Reflect.getMetadata(METHOD_METADATA, proto.tag)).toBe(1);
      expect(Reflect.getMetadata(GUARDS_METADATA, proto.find)).toEqual([AllowGuard]);
      expect(Reflect.getMetadata(PATTERN_METADATA, proto.get)).toEqual(['users.get']);
      expect(Reflect.getMetadata(ROUTE_ARGS_METADATA, decorated, 'find')).toEqual(
        Reflect.getMetadata(ROUTE_ARGS_METADATA, Untouched, 'find'),
      );
      expect(Reflect.getMetadata('design:paramtypes', proto, 'find')).toEqual([String, Number]);
      expect(Reflect.getMetadata('design:returntype', proto, 'find')).toBe(String);
    });

    it('still runs the method in a span', () => {
      expect(new decorated().find('7')).toBe('7');
      tracing.expectSpan(`${decorated.name}.find`, {
        kind: SpanKind.INTERNAL,
        attributes: { 'code.function.name': `${decorated.name}.find`, 'nestjs.class': decorated.name },
      });
    });
  });

  it('takes a name, a kind, static attributes and attributes from the arguments', () => {
    class Billing {
      @Traced({ name: 'charge card', kind: SpanKind.CLIENT, attributes: { 'billing.provider': 'acme' } })
      charge(_amount: number) {}

      @Traced({ attributes: (amount: number) => ({ 'billing.amount': amount }) })
      refund(_amount: number) {}
    }
    new Billing().charge(5);
    new Billing().refund(3);
    tracing.expectSpan('charge card', { kind: SpanKind.CLIENT, attributes: { 'billing.provider': 'acme' } });
    tracing.expectSpan('Billing.refund', { attributes: { 'billing.amount': 3 } });
  });

  it('ignores an attributes function that throws', () => {
    class Risky {
      @Traced({
        attributes: () => {
          throw new Error('hook broke');
        },
      })
      run() {
        return 'done';
      }
    }
    expect(new Risky().run()).toBe('done');
    expect(tracing.getFinishedSpans()).toHaveLength(1);
  });

  it('starts a new trace with root: true', () => {
    class Jobs {
      @Traced({ root: true })
      detached() {}

      @Traced()
      outer() {
        this.detached();
      }
    }
    new Jobs().outer();
    const outer = tracing.expectSpan('Jobs.outer');
    const detached = tracing.expectSpan('Jobs.detached', { parent: null });
    expect(detached.spanContext().traceId).not.toBe(outer.spanContext().traceId);
  });

  describe('on a class', () => {
    @Traced()
    class Orders {
      constructor(private readonly prefix = 'order') {}

      get label() {
        return this.prefix;
      }

      set label(_value: string) {}

      place(id: number) {
        return `${this.label}-${id}-${this.check()}`;
      }

      check() {
        return 'ok';
      }

      @Untraced()
      quiet() {
        return 'quiet';
      }

      @Traced('Orders.cancel (custom)')
      cancel() {}
    }

    it('traces every own method, with the instance as this', () => {
      expect(new Orders().place(1)).toBe('order-1-ok');
      tracing.expectSpan('Orders.check', { parent: 'Orders.place' });
      expect(tracing.getFinishedSpans().map((span) => span.name)).toEqual(['Orders.check', 'Orders.place']);
    });

    it('leaves the constructor, getters, setters and @Untraced() methods alone', () => {
      const orders = new Orders('x');
      orders.label = 'y';
      expect(orders.label).toBe('x');
      expect(orders.quiet()).toBe('quiet');
      expect(tracing.getFinishedSpans()).toHaveLength(0);
    });

    it('gives a method decorated both ways one span, with its own options', () => {
      new Orders().cancel();
      expect(tracing.getFinishedSpans().map((span) => span.name)).toEqual(['Orders.cancel (custom)']);
    });

    it('uses a class-level name as the prefix', () => {
      @Traced('repo')
      class Repository {
        load() {}
      }
      new Repository().load();
      tracing.expectSpan('repo.load');
    });
  });

  it('does not take @CurrentSpan() positions from an overridden base method', () => {
    class Base {
      handle(_input: string, @CurrentSpan() _span?: unknown): unknown {
        return undefined;
      }
    }
    class Child extends Base {
      @Traced()
      override handle(input: string, extra?: unknown): unknown {
        return [input, extra];
      }
    }
    expect(new Child().handle('x', 'user value')).toEqual(['x', 'user value']);
  });

  it('throws a clear error on a getter', () => {
    expect(() => {
      class Broken {
        @(Traced() as MethodDecorator)
        get value() {
          return 1;
        }
      }
      return Broken;
    }).toThrow('Cannot apply @Traced() to Broken.value because it is not a method.');
  });
});

describe('@Traced with no SDK registered', () => {
  class Doubler {
    factor = 2;

    @Traced()
    double(value: number): number {
      return value * this.factor;
    }
  }

  it('calls the method as it is, and makes spans once an SDK registers', async () => {
    const doubler = new Doubler();
    expect(doubler.double(3)).toBe(6);
    const tracing = setupTestTracing();
    try {
      expect(doubler.double(4)).toBe(8);
      tracing.expectSpan('Doubler.double', { kind: SpanKind.INTERNAL });
      expect(tracing.getFinishedSpans()).toHaveLength(1);
    } finally {
      await tracing.shutdown();
    }
    expect(doubler.double(5)).toBe(10);
  });
});
