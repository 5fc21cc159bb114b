import { runCloudEventsE2E } from '../helpers/cloudevents-suite.ts';
import { runCloudEventsFirstFrameAuth } from '../helpers/cloudevents-auth-suite.ts';

runCloudEventsE2E('memory');
runCloudEventsFirstFrameAuth('memory');
