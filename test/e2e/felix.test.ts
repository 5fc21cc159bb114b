import { runFelixE2E } from '../helpers/felix-suite.ts';

runFelixE2E('memory');
