// The piscina entry of the threads pool. Plain JavaScript so a bare worker thread can load it:
// it registers tsx (so the app's .ts modules load, as bin/celeriac.js does in the main thread),
// then the host that runs tasks.
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

register();
// A `.ts` task module outside a `"type": "module"` package is CommonJS to Node.
registerCommonJs();
const host = await import('./thread-host.ts');
export default host.runInThread;
