import type { Attributes, TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { Metadata } from '@grpc/grpc-js';
import type { IncomingHeaders, TransportCarrier } from './transport-carrier';

/** What Nest hands the processing hooks for a gRPC call: the call's own fields. */
interface GrpcCallContext {
  path?: unknown;
  metadata?: unknown;
  request?: unknown;
}

export const GRPC_METADATA_GETTER: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key).map((value) => (Buffer.isBuffer(value) ? value.toString('utf8') : value));
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

export const GRPC_METADATA_SETTER: TextMapSetter<Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

/** `/users.UsersService/GetUser` → `users.UsersService/GetUser`, the conventions' `rpc.method`. */
export function rpcMethodOf(path: unknown): string {
  return typeof path === 'string' ? (path.startsWith('/') ? path.slice(1) : path) : '';
}

function isMetadata(value: unknown): value is Metadata {
  return (
    typeof (value as Partial<Metadata> | undefined)?.get === 'function' &&
    typeof (value as Metadata).getMap === 'function'
  );
}

/**
 * gRPC carries the context in the call's `Metadata`. Its spans follow the RPC
 * conventions (`rpc.system.name`, `rpc.method`) rather than the messaging ones.
 */
export const GRPC_CARRIER: TransportCarrier = {
  transport: 'grpc',
  serverClass: 'ServerGrpc',
  clientClass: 'ClientGrpcProxy',
  pattern: (context) => rpcMethodOf((context as GrpcCallContext).path),
  incoming(context): IncomingHeaders | undefined {
    const metadata = (context as GrpcCallContext).metadata;
    return isMetadata(metadata) ? { carrier: metadata, getter: GRPC_METADATA_GETTER } : undefined;
  },
  serverAttributes(_context: unknown, _attributes: Attributes): void {},
  // The client side of gRPC goes through `ClientGrpcProxy`'s service methods, not packets.
  destination: (_client, pattern) => pattern,
};
