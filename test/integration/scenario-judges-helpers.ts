/**
 * Shared pieces of the judges' scenarios (scenario-judges-*.test.ts): the metric definitions
 * of analysis.md over the two-track series of test/helpers/two-track-history.ts, and the
 * numbers a record must carry, computed from the history's ledger rather than asked of
 * Prometheus.
 */
import type { Track, TwoTrackLedger } from '../helpers/two-track-history.js';

const requests = (track: Track, errors: boolean) => `http_requests_total{app="{{app}}",track="${track}"${errors ? ',code=~"5.."' : ''}}`;

/** One track's error ratio over `{{window}}`. */
export const errorRatio = (track: Track) => `sum(rate(${requests(track, true)}[{{window}}])) / sum(rate(${requests(track, false)}[{{window}}]))`;

/** One track's request count over `{{window}}`. */
export const requestCount = (track: Track) => `sum(increase(${requests(track, false)}[{{window}}]))`;

/** A track's error ratio as the `errorRatio` query answers it at `at` over `windowMs`. */
export function ratioOf(ledger: TwoTrackLedger, track: Track, at: number, windowMs: number): number {
  return ledger.increase(track, 'bad', at, windowMs)! / ledger.increase(track, 'total', at, windowMs)!;
}
