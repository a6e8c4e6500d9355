/**
 * A recording's file ends where the video's parameter sets change (a new SPS/PPS needs a new init
 * segment): which parameter sets a unit carries, compared with those in force.
 */
import { H264NalType, h264NalType } from '../codec/h264.js';
import { H265NalType, h265NalType } from '../codec/h265.js';
import { splitAnnexB } from '../codec/nal.js';
import type { Fmp4Track } from '../container/fmp4/muxer.js';
import type { AccessUnit } from '../format/access-unit.js';

/** Parameter-set NAL types of a video codec, in sample-entry order. */
function parameterSetTypes(codec: Fmp4Track['codec']): readonly number[] {
  if (codec === 'h264') return [H264NalType.Sps, H264NalType.Pps];
  if (codec === 'h265') return [H265NalType.Vps, H265NalType.Sps, H265NalType.Pps];
  return [];
}

/** The parameter sets among `nalus`, by NAL type (hex, for comparing). */
function parameterSetsOf(codec: Fmp4Track['codec'], nalus: readonly Uint8Array[]): Map<number, string> {
  const types = parameterSetTypes(codec);
  const out = new Map<number, string>();
  for (const nal of nalus) {
    const type = codec === 'h264' ? h264NalType(nal) : h265NalType(nal);
    if (!types.includes(type)) continue;
    out.set(type, (out.get(type) ?? '') + Buffer.from(nal).toString('hex') + ',');
  }
  return out;
}

function nalusOf(au: AccessUnit): readonly Uint8Array[] {
  return au.nalus ?? (au.payload !== undefined ? splitAnnexB(au.payload) : []);
}

/**
 * Records in `known` (NAL type → hex) the parameter sets `au` carries that were not known yet; true when
 * one it carries differs from the one in force.
 */
export function parameterSetsChanged(
  known: Map<number, string>,
  codec: Fmp4Track['codec'],
  au: AccessUnit,
): boolean {
  let changed = false;
  for (const [type, value] of parameterSetsOf(codec, nalusOf(au))) {
    const before = known.get(type);
    if (before === undefined) known.set(type, value);
    else if (before !== value) changed = true;
  }
  return changed;
}

/** A new file's parameter sets: the SDP's, under the keyframe's own (the muxer's sample entry takes those too). */
export function parameterSetsInForce(
  codec: Fmp4Track['codec'],
  sdpParameterSets: readonly Uint8Array[],
  keyframe: AccessUnit,
): Map<number, string> {
  const params = parameterSetsOf(codec, sdpParameterSets);
  for (const [type, value] of parameterSetsOf(codec, nalusOf(keyframe))) params.set(type, value);
  return params;
}
