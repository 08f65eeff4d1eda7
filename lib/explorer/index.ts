export {
  AUTO_INSTRUMENT_OPTION_CHECKS,
  resolveAutoInstrumentOptions,
  type AutoInstrumentOptions,
  type ProviderFilter,
  type ResolvedAutoInstrumentOptions,
} from './auto-instrument.options';
export { HandlerSpanInterceptor } from './handler-span.interceptor';
export { autoInstrumentState, instrumentMethod, isTracedFunction, type InstrumentedType } from './instrument-method';
export { NOT_INSTRUMENTED, TracingExplorer } from './tracing.explorer';
export { tracingInstrument, type NestInstrument } from './tracing-instrument';
