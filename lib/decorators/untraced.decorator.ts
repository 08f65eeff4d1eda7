import { SetMetadata } from '@nestjs/common';
import { UNTRACED_METADATA } from '../tracing.constants';

/**
 * Opts one method out of a class-level `@Traced()`: the method runs without a span
 * of its own (spans it starts still join the active trace).
 */
export const Untraced = (): MethodDecorator => SetMetadata(UNTRACED_METADATA, true);
