import { createParamDecorator } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { NON_RECORDING_SPAN } from '../core';
import { CURRENT_SPAN_PARAMS_METADATA } from '../tracing.constants';

const activeSpanParam = createParamDecorator(() => trace.getActiveSpan() ?? NON_RECORDING_SPAN);

/**
 * Injects the span of this call into a controller or microservice handler parameter.
 * On a `@Traced()` handler it is the handler's own span (not its parent, which is
 * what Nest would resolve, since it resolves parameters before the method runs);
 * elsewhere it is the active span of the request. When nothing is traced it is a
 * non-recording span, so calls on it are safe no-ops.
 *
 * @example
 * ```ts
 * @Get(':id')
 * @Traced()
 * find(@Param('id') id: string, @CurrentSpan() span: Span) {
 *   span.setAttribute('user.id', id);
 * }
 * ```
 */
export const CurrentSpan = (): ParameterDecorator => (target, propertyKey, index) => {
  if (propertyKey !== undefined) {
    const indexes = (Reflect.getOwnMetadata(CURRENT_SPAN_PARAMS_METADATA, target, propertyKey) ?? []) as number[];
    Reflect.defineMetadata(CURRENT_SPAN_PARAMS_METADATA, [...indexes, index], target, propertyKey);
  }
  activeSpanParam()(target, propertyKey, index);
};
