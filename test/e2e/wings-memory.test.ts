import { runWingsE2E } from '../helpers/wings-e2e-suite.ts';

runWingsE2E('memory');
