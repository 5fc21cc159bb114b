import { runCloudEventsE2E } from '../helpers/cloudevents-suite.ts';

runCloudEventsE2E('memory');
