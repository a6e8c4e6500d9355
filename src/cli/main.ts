#!/usr/bin/env node
/**
 * The `rtspkit` program: `serve` starts again with the Node flags and environment it needs (node-flags.ts) before
 * anything else is loaded; then the command line (program.ts).
 */
import { followParent, nodeStartAdditions, runWithNodeFlags } from './node-flags.js';

const additions = nodeStartAdditions(process.argv.slice(2), process.execArgv, process.env);
if (additions !== undefined) runWithNodeFlags(additions);
else {
  followParent();
  await import('./program.js');
}
