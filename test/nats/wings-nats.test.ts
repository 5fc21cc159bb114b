import { runWingsE2E } from '../helpers/wings-e2e-suite.ts';

// A real nats-server (NATS_URL, default 127.0.0.1:4222, JetStream on). No server: the suite fails.
runWingsE2E('nats');
