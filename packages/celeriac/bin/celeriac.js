#!/usr/bin/env node
// The `celeriac` command. There is no build step: tsx's loader lets Node import our TypeScript
// sources and the user's `.ts` task modules (-A tasks.ts) alike.
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

register();
// A `.ts` task module outside a `"type": "module"` package is CommonJS to Node; without tsx's
// require hook Node would load its ESM syntax through require(esm) and fail.
registerCommonJs();
import('../src/cli/main.ts').then(
  ({ run }) => run(process.argv),
  (error) => {
    process.stderr.write(`celeriac: cannot load the CLI: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
