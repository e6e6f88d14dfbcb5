import { MemoryBackend } from '../../src/backends/memory/memory-backend.ts';
import { runBackendConformance } from '../backend-conformance.ts';
import { uniqueName } from '../helpers/services.ts';

const store = uniqueName('results');
runBackendConformance('memory', () => new MemoryBackend(`memory://${store}`));
