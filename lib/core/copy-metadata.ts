const NATIVE_FUNCTION_KEYS = new Set<string | symbol>(['length', 'name', 'prototype', 'arguments', 'caller']);

/**
 * Makes `wrapper` look like `original` to everything that reads a method: every
 * reflect-metadata key (routes, patterns, guards, Swagger, `SetMetadata`), the
 * function's `name` and `length`, and any own property a library put on it.
 */
export function copyFunctionMetadata(original: Function, wrapper: Function): void {
  if (typeof Reflect.getOwnMetadataKeys === 'function') {
    for (const key of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapper);
    }
  }
  for (const key of Reflect.ownKeys(original)) {
    if (!NATIVE_FUNCTION_KEYS.has(key)) {
      Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(original, key)!);
    }
  }
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
}
