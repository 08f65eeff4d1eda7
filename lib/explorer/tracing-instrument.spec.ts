import { Injectable, Scope } from '@nestjs/common';
import { isTracedFunction } from './instrument-method';
import { tracingInstrument } from './tracing-instrument';

@Injectable()
class SingletonMiddleware {
  use(_request: unknown, _response: unknown, next: () => void): void {
    next();
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedMiddleware {
  use(_request: unknown, _response: unknown, next: () => void): void {
    next();
  }
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientMiddleware {
  use(_request: unknown, _response: unknown, next: () => void): void {
    next();
  }
}

describe('tracingInstrument()', () => {
  const { instanceDecorator } = tracingInstrument();

  it('wraps the middleware of a singleton, on the instance, and returns the same instance', () => {
    const instance = new SingletonMiddleware();
    expect(instanceDecorator(instance)).toBe(instance);
    expect(isTracedFunction(instance.use)).toBe(true);
    expect(isTracedFunction(SingletonMiddleware.prototype.use)).toBe(false);
  });

  it.each([
    ['request-scoped', new RequestScopedMiddleware()],
    ['transient', new TransientMiddleware()],
  ])('leaves a %s instance alone', (_scope, instance) => {
    instanceDecorator(instance);
    expect(isTracedFunction(instance.use)).toBe(false);
  });

  it('passes anything that is not an object through', () => {
    const fn = () => undefined;
    expect(instanceDecorator(fn)).toBe(fn);
    expect(instanceDecorator(undefined)).toBeUndefined();
  });
});
