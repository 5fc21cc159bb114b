import { runPanelE2E } from '../helpers/panel-suite.ts';

// Semoxy simulator → relay → Semoxy dashboards on the embedded memory bus.
runPanelE2E('memory');
