import { GRPC_CARRIER } from './grpc.carrier';
import { KAFKA_CARRIER } from './kafka.carrier';
import { MQTT_CARRIER } from './mqtt.carrier';
import { NATS_CARRIER } from './nats.carrier';
import { nestMicroservices } from './nest-microservices';
import { REDIS_CARRIER } from './redis.carrier';
import { RMQ_CARRIER } from './rmq.carrier';
import { TCP_CARRIER } from './tcp.carrier';
import { callString, type TransportCarrier } from './transport-carrier';

/** The carriers of Nest's transports that send packets (gRPC has its own client path). */
export const PACKET_CARRIERS: readonly TransportCarrier[] = [
  TCP_CARRIER,
  REDIS_CARRIER,
  NATS_CARRIER,
  MQTT_CARRIER,
  RMQ_CARRIER,
  KAFKA_CARRIER,
];

/** A custom transport strategy: a span per message, named by its pattern, with no carrier. */
export const CUSTOM_CARRIER: TransportCarrier = {
  transport: 'custom',
  serverClass: '',
  clientClass: '',
  pattern: (context) => callString(context, 'getPattern') ?? '',
  incoming: () => undefined,
  serverAttributes: () => undefined,
  destination: (_client, pattern) => pattern,
};

/** The carrier of a server, by its transport id (`Transport.TCP`, …). */
export function carrierOfServer(transportId: unknown): TransportCarrier {
  const transports = nestMicroservices()?.Transport;
  switch (transportId) {
    case undefined:
      return CUSTOM_CARRIER;
    case transports?.TCP:
      return TCP_CARRIER;
    case transports?.REDIS:
      return REDIS_CARRIER;
    case transports?.NATS:
      return NATS_CARRIER;
    case transports?.MQTT:
      return MQTT_CARRIER;
    case transports?.RMQ:
      return RMQ_CARRIER;
    case transports?.KAFKA:
      return KAFKA_CARRIER;
    case transports?.GRPC:
      return GRPC_CARRIER;
    default:
      return CUSTOM_CARRIER;
  }
}
