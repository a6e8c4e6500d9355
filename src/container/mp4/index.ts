/**
 * MP4 (ISO/IEC 14496-12 ISO-BMFF) reader, sans-I/O over a caller-supplied `ByteSource`.
 *
 *   const mp4 = await Mp4Reader.open(source);           // reads top-level headers + moov only
 *   for (const track of mp4.tracks) track.codec, track.samples.count, track.parameterSets ...
 *   for await (const s of mp4.readSamples(fromSeconds)) // all tracks, interleaved by dts
 *   await mp4.readNalUnits(videoTrack, i)               // H.264/H.265 sample -> NAL units
 *
 * Times are ticks of each track's media timescale on the presentation timeline (edit list applied;
 * see `EditInfo`), matching ffprobe's packet dts/pts. Malformed files throw ParseError with codes
 * MP4_TRUNCATED, MP4_NO_MOOV, MP4_BAD_BOX, MP4_BAD_SAMPLE_TABLE, MP4_BAD_CODEC_CONFIG, MP4_BAD_SAMPLE,
 * MP4_UNSUPPORTED (fragmented files, moov over the size limit, too many samples, values beyond 2^53).
 */
export * from './reader.js';
export * from './nal.js';
export * from './sample-entry.js';
export * from './sample-table.js';
export * from './codec-config.js';
