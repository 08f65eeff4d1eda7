import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { TracingModuleOptions } from './tracing.options';

export const {
  ConfigurableModuleClass: ConfigurableTracingModule,
  MODULE_OPTIONS_TOKEN: TRACING_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TracingModuleOptions>({ moduleName: 'Tracing' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createTracingOptions')
  .setExtras({}, (definition) => ({ ...definition, global: true }))
  .build();
