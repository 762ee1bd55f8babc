/**
 * The log lines of a rollout besides its decisions (decision-log.ts): a manual action,
 * accepted or refused, and a split the router confirmed. Each is one line whose message says
 * everything (the pretty format shows no fields for it: `event`), and starts with the rollout.
 */
import type { AppliedMark } from '../core/record.js';
import { sameSplit, type Split } from '../core/router.js';
import type { Logger } from '../support/log.js';
import { formatValue } from './decision-text.js';

/** A manual request as far as it could be read: an unreadable one may name no action or actor. */
export interface ManualRequestSummary {
  /** The rollout's id, or the name given when it names no managed rollout. */
  rollout?: string;
  action?: string;
  actor?: string;
  reason?: string | undefined;
  /** The request's id (the inbox file, the annotation). */
  request?: string | null;
}

/** The answer to a manual request: the decision it produced (`seq`), or why it was refused. */
export interface ManualAnswer {
  accepted: boolean;
  message: string;
  seq?: number | null | undefined;
}

/**
 * One line per manual request: info when accepted (action, actor, reason, the decision it
 * produced), warn when refused (why):
 *
 *     default/shop: manual pause by alice accepted: shop paused at 25% (decision #7); reason: incident 4711
 *     default/shop: manual promote by alice refused: shop is paused; resume it first
 */
export function logManual(log: Logger, req: ManualRequestSummary, answer: ManualAnswer): void {
  const what = `manual ${req.action ?? `request${req.request ? ` ${req.request}` : ''}`}${req.actor ? ` by ${req.actor}` : ''}`;
  const decision = answer.accepted && answer.seq ? ` (decision #${answer.seq})` : '';
  const reason = req.reason ? `; reason: ${req.reason}` : '';
  const fields = {
    event: 'manual',
    ...(req.rollout ? { rollout: req.rollout } : {}),
    action: req.action ?? null,
    actor: req.actor ?? null,
    reason: req.reason ?? null,
    request: req.request ?? null,
    accepted: answer.accepted,
    ...(answer.accepted ? { seq: answer.seq ?? null } : {}),
    answer: answer.message,
  };
  const message = `${what} ${answer.accepted ? 'accepted' : 'refused'}: ${answer.message}${decision}${reason}`;
  if (answer.accepted) log.info(fields, message);
  else log.warn(fields, message);
}

/**
 * `weight 25%`, `weight 25%, mirror 5%`: mirror only when in use (in `s` or `other`). Shown
 * against `other` (formatValue): rounding for display never makes them look equal when they are not.
 */
function formatShares(s: Split, other: Split = s): string {
  const weight = `weight ${formatValue(s.weight, [other.weight])}%`;
  return s.mirror === 0 && other.mirror === 0 ? weight : `${weight}, mirror ${formatValue(s.mirror, [other.mirror])}%`;
}

/**
 * One line per split the router confirmed, with what is in effect when the router rounded it:
 *
 *     default/web-api: router haproxy applied decision #4: weight 25% (in effect: weight 25.1%)
 */
export function logApplied(log: Logger, mark: AppliedMark, router: { name: string; target: string }, durationMs: number): void {
  const want: Split = { weight: mark.weight, mirror: mark.mirror };
  const effective = mark.effective ?? want;
  const rounded = !sameSplit(effective, want);
  log.info(
    {
      event: 'applied',
      rollout: mark.rollout,
      seq: mark.applied,
      router: router.name,
      target: router.target,
      split: want,
      effective,
      durationMs: Math.round(durationMs),
    },
    `router ${router.name} applied decision #${mark.applied}: ${formatShares(want, effective)}${rounded ? ` (in effect: ${formatShares(effective, want)})` : ''}`,
  );
}
