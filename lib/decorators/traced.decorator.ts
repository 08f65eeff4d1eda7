import { type Attributes, type Span, SpanKind, type SpanOptions } from '@opentelemetry/api';
import { ATTR_CODE_FUNCTION_NAME } from '@opentelemetry/semantic-conventions';
import {
  copyFunctionMetadata,
  NestAttributes,
  runHook,
  runInSpan,
  tracerProviderRegistered,
  tracingState,
} from '../core';
import { CURRENT_SPAN_PARAMS_METADATA, TRACED_WRAPPER, UNTRACED_METADATA } from '../tracing.constants';
import { TracingError } from '../tracing.error';
import { TracingMessages } from '../tracing.messages';

/** Options of `@Traced()`. */
export interface TracedOptions {
  /**
   * The span name. On a class, it replaces the class name: `{name}.{method}`.
   * Default: `ClassName.methodName`.
   */
  name?: string;
  /**
   * The span kind.
   * Default: `SpanKind.INTERNAL`.
   */
  kind?: SpanKind;
  /**
   * Attributes of the span: an object, or a function of the call's arguments (called
   * with the instance as `this`, only when the span is recorded; a throw is logged
   * and ignored).
   * Default: none beyond `code.function.name` and `nestjs.class`.
   */
  attributes?: Attributes | ((...args: any[]) => Attributes | undefined);
  /**
   * Start a new trace instead of continuing the active one.
   * Default: `false`.
   */
  root?: boolean;
}

type AnyFunction = (...args: any[]) => any;

/**
 * Runs a method (or every own method of a class) in a span of its own, a child of
 * the active span. The span ends when the method's work ends: at return, when a
 * returned Promise settles, when a returned Observable completes, errors or is
 * unsubscribed, or when a returned async iterable is done. Errors are recorded and
 * rethrown untouched.
 *
 * The method keeps its `name`, `length` and every reflect-metadata key, so route,
 * pattern, guard and Swagger decorators work above or below `@Traced()`.
 * On a class, constructors, getters and setters are left alone, `@Untraced()` opts a
 * method out, and a method with its own `@Traced()` keeps that one (one span, not two).
 *
 * @example
 * ```ts
 * @Traced()
 * async findOne(id: string) { ... }                        // "UsersService.findOne"
 *
 * @Traced({ name: 'charge', attributes: (order) => ({ 'order.id': order.id }) })
 * charge(order: Order) { ... }
 * ```
 */
export function Traced(nameOrOptions?: string | TracedOptions): ClassDecorator & MethodDecorator {
  const options: TracedOptions = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : { ...nameOrOptions };
  return ((target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (propertyKey === undefined) {
      traceClass(target as Function, options);
      return;
    }
    const owner = typeof target === 'function' ? target : target.constructor;
    if (typeof descriptor?.value !== 'function') {
      throw TracingError.create(TracingMessages.tracedOnNonMethod(`${owner.name}.${String(propertyKey)}`));
    }
    descriptor.value = wrapMethod(target, propertyKey, descriptor.value as AnyFunction, {
      ...options,
      name: options.name ?? `${owner.name}.${String(propertyKey)}`,
    });
    return descriptor;
  }) as ClassDecorator & MethodDecorator;
}

function traceClass(constructor: Function, options: TracedOptions): void {
  const prototype = constructor.prototype as object;
  for (const key of Object.getOwnPropertyNames(prototype)) {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
    const method = descriptor?.value as unknown;
    if (
      key === 'constructor' ||
      typeof method !== 'function' ||
      TRACED_WRAPPER in method ||
      Reflect.getMetadata(UNTRACED_METADATA, method)
    ) {
      continue;
    }
    Object.defineProperty(prototype, key, {
      ...descriptor,
      value: wrapMethod(prototype, key, method as AnyFunction, {
        ...options,
        name: `${options.name ?? constructor.name}.${key}`,
      }),
    });
  }
}

function wrapMethod(
  target: object,
  propertyKey: string | symbol,
  original: AnyFunction,
  options: TracedOptions & { name: string },
): AnyFunction {
  const className = (typeof target === 'function' ? target : target.constructor).name;
  const name = options.name;
  const attributesOf = typeof options.attributes === 'function' ? options.attributes : undefined;
  const spanOptions: SpanOptions = {
    kind: options.kind ?? SpanKind.INTERNAL,
    root: options.root,
    attributes: {
      [ATTR_CODE_FUNCTION_NAME]: `${className}.${String(propertyKey)}`,
      [NestAttributes.CLASS]: className,
      ...(typeof options.attributes === 'object' ? options.attributes : undefined),
    },
  };
  const spanParameters = Reflect.getOwnMetadata(CURRENT_SPAN_PARAMS_METADATA, target, propertyKey) as
    number[] | undefined;

  // The span's work stays out of `traced`: a closure in it would cost every call a
  // context allocation, even the plain call made when there is no span to make.
  const callInSpan = (thisArg: unknown, args: unknown[]): unknown =>
    runInSpan(name, spanOptions, (span: Span) => {
      if (attributesOf !== undefined && span.isRecording()) {
        const attributes = runHook('@Traced attributes function', () => attributesOf.apply(thisArg, args));
        if (attributes) {
          span.setAttributes(attributes);
        }
      }
      if (spanParameters !== undefined) {
        for (const index of spanParameters) {
          args[index] = span;
        }
      }
      return original.apply(thisArg, args);
    });
  const traced = function (this: unknown, ...args: unknown[]): unknown {
    // No span to make: a plain call (a `@CurrentSpan()` parameter still gets its no-op span).
    if (!tracingState.enabled || (spanParameters === undefined && !tracerProviderRegistered())) {
      return original.apply(this, args);
    }
    return callInSpan(this, args);
  };
  copyFunctionMetadata(original, traced);
  Object.defineProperty(traced, TRACED_WRAPPER, { value: true });
  return traced;
}
