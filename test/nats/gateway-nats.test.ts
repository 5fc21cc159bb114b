import { runGatewayE2E } from '../helpers/gateway-suite.ts';

// A real nats-server (NATS_URL, default 127.0.0.1:4222, JetStream on). No server: the suite fails.
runGatewayE2E('nats');
