/** GStreamer readers for interop tests: rtspsrc driven by test/support/gst_read.py (see why there). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { run, type Run } from './process.js';
import { repoRoot, requireTools, skipUnless } from './tools.js';

const SYSTEM_PYTHON = '/usr/bin/python3';
let gstPythonOk: boolean | undefined;

/** For `{ skip }`: rtspsrc through PyGObject needs gst-launch's plugins and python3-gi. */
export function skipUnlessGstReader(): string | false {
  const tools = skipUnless('gst-launch-1.0');
  if (tools !== false) return tools;
  gstPythonOk ??=
    spawnSync(SYSTEM_PYTHON, ['-c', 'import gi; gi.require_version("Gst", "1.0")'], {
      stdio: 'ignore',
      timeout: 10_000,
    }).status === 0;
  if (gstPythonOk) return false;
  const reason = `needs ${SYSTEM_PYTHON} with python3-gi (GStreamer bindings)`;
  if (requireTools) throw new Error(`RTSPKIT_REQUIRE_TOOLS=1 but ${reason}`);
  return reason;
}

export interface GstReadOptions {
  /** rtspsrc `protocols` (tcp, udp, udp-mcast, http). */
  protocols?: string;
  /** Where the video goes, as an Annex B byte-stream; other streams go to fakesink. */
  videoOut?: string;
  /** Extra rtspsrc properties, as name=value. */
  props?: string[];
  /** Print `pts video <seconds>` for each video buffer (read them with `gstVideoPts`). */
  printPts?: boolean;
  timeoutMs: number;
}

/** Reads `url` with rtspsrc until EOS (exit 0) or an error (exit 1). */
export function gstRead(url: string, options: GstReadOptions): Run {
  const args = [join(repoRoot(), 'test', 'support', 'gst_read.py'), url];
  if (options.protocols !== undefined) args.push('--protocols', options.protocols);
  if (options.videoOut !== undefined) args.push('--video-out', options.videoOut);
  for (const p of options.props ?? []) args.push('--prop', p);
  if (options.printPts === true) args.push('--print-pts');
  return run(SYSTEM_PYTHON, args, { timeoutMs: options.timeoutMs });
}

/** The video pts (seconds) a `gstRead` with `printPts` printed, in order. */
export function gstVideoPts(stdout: string): number[] {
  return [...stdout.matchAll(/^pts video ([\d.]+)$/gm)].map((m) => Number(m[1]));
}
