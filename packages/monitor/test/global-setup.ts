import { clientAssets } from '../src/ui/assets.ts';

/**
 * Builds the monitor's browser bundle once per Vitest run when it is missing or older than
 * `client/`, before any test file starts, so no two test processes build it at the same time.
 */
export default async function setup(): Promise<void> {
  await clientAssets((line) => console.log(line));
}
