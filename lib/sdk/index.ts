export { renderWaterfall, type WaterfallStyle } from './render-waterfall';
export {
  startTracing,
  type ExporterName,
  type PropagatorName,
  type StartTracingOptions,
  type TracingHandle,
} from './start-tracing';
export { WaterfallSpanExporter, type WaterfallExporterOptions } from './waterfall.exporter';
