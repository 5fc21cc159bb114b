import { runPanelE2E } from '../helpers/panel-suite.ts';

// A real nats-server (NATS_URL, default 127.0.0.1:4222, JetStream on). No server: the suite fails.
runPanelE2E('nats');
