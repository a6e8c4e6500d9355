/**
 * Starting a session again in the state it had: at a new Location after a REDIRECT from the server (RFC
 * 2326 §10.10: TEARDOWN here, then DESCRIBE, SETUP the same tracks over the same transport and PLAY), or
 * over TCP after UDP brought nothing (TEARDOWN, SETUP and PLAY again on the same connection).
 */
import type { RtspResponse } from '../rtsp/message.js';
import { RtspClientError } from './errors.js';
import type { DescribeResult, PlayOptions, SetupOptions } from './options.js';

/** The client's methods a restart replays. */
export interface SessionSteps {
  describe(): Promise<DescribeResult>;
  setup(options: SetupOptions): Promise<void>;
  play(options: PlayOptions): Promise<RtspResponse>;
}

/** The state to come back to: described or not, the last SETUP (when tracks were set up) and PLAY. */
export interface SessionState {
  described: boolean;
  setup: SetupOptions | undefined;
  play: PlayOptions | undefined;
}

/** After the move to the new Location: DESCRIBE, SETUP and PLAY as far as the session had got. */
export async function replayAfterRedirect(steps: SessionSteps, state: SessionState): Promise<void> {
  if (!state.described) return;
  const d = await steps.describe();
  const setup = state.setup;
  if (setup === undefined) return;
  // Tracks the new presentation does not have are dropped; none left means all.
  const tracks = setup.tracks?.filter((i) => i < d.tracks.length);
  await steps.setup({
    ...(setup.transport === undefined ? {} : { transport: setup.transport }),
    ...(tracks === undefined || tracks.length === 0 ? {} : { tracks }),
  });
  if (state.play !== undefined) await steps.play(state.play);
}

/** After the UDP session's TEARDOWN: the same tracks over TCP, played as they were. */
export async function replayOverTcp(
  steps: SessionSteps,
  tracks: readonly number[] | undefined,
  play: PlayOptions,
): Promise<void> {
  await steps.setup({ transport: 'tcp', ...(tracks === undefined ? {} : { tracks }) });
  await steps.play(play);
}

/** A restart's failure as an RtspClientError, for the 'error' event (nothing awaits a restart). */
export function restartError(e: unknown, code: string, what: string): RtspClientError {
  return e instanceof RtspClientError ? e : new RtspClientError(code, `${what}: ${String(e)}`);
}
