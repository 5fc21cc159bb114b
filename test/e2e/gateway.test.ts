import { runGatewayE2E } from '../helpers/gateway-suite.ts';

runGatewayE2E('memory');
