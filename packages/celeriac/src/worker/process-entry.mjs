// The child process of the processes pool. Plain JavaScript so bare Node can start it: it
// registers tsx so the host (TypeScript) loads; the task thread registers tsx for itself.
import { register } from 'tsx/esm/api';

register();
await import('./process-host.ts');
