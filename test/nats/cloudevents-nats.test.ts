import { runCloudEventsE2E } from '../helpers/cloudevents-suite.ts';
import { runCloudEventsFirstFrameAuth } from '../helpers/cloudevents-auth-suite.ts';
import { useNatsServer } from '../helpers/nats-server.ts';

// This file's own nats-server (JetStream, free port, temporary store), shared by its tests.
// No nats-server binary: the file fails with one line saying how to install it.
const nats = useNatsServer();
runCloudEventsE2E('nats', () => nats.url);
runCloudEventsFirstFrameAuth('nats', () => nats.url);
