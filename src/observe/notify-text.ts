/**
 * The one-line summary of a decision posted to chat webhooks:
 * `:rotating_light: learning/analyzer rolled back at ramp: error-rate=0.012 > 0.005`.
 * Built from the record only (no plan, so no secret can slip in).
 */
import type { Decision, DecisionRecord } from '../core/record.js';
import { formatCulprits, formatSplit } from './decision-text.js';

const EMOJI: Record<Decision, string> = {
  start: ':rocket:',
  continue: ':large_green_circle:',
  advance: ':arrow_forward:',
  complete: ':white_check_mark:',
  hold: ':hourglass:',
  pause: ':double_vertical_bar:',
  resume: ':arrow_forward:',
  rollback: ':rotating_light:',
  abort: ':octagonal_sign:',
  promote: ':fast_forward:',
  wait: ':hourglass_flowing_sand:',
  'plan-updated': ':pencil2:',
};

/** What happened, as a verb phrase after the rollout's name. */
function headline(r: DecisionRecord): string {
  const at = r.phase ? ` at ${r.phase}` : '';
  switch (r.decision) {
    case 'start':
      return `started ${r.revision}${at} (weight ${r.weight.to})`;
    case 'continue':
      return r.checkpoint ? `passed checkpoint ${r.checkpoint.index}/${r.checkpoint.of}${at}` : `continues${at}`;
    case 'advance':
      return `advanced${at}, weight ${formatSplit(r.weight)}`;
    case 'complete':
      return `completed ${r.revision} (weight ${r.weight.to})`;
    case 'hold':
      return `held${at}`;
    case 'pause':
      return `paused${at}`;
    case 'resume':
      return `resumed${at}`;
    case 'rollback':
      return r.weight.to === 0 ? `rolled back${at}` : `rolling back${at}, weight ${formatSplit(r.weight)}`;
    case 'abort':
      return `aborted${at}`;
    case 'promote':
      return `promoted${at}`;
    case 'wait':
      return `waiting${r.waitingFor ? ` for ${r.waitingFor}` : ''}${at}`;
    case 'plan-updated':
      return `plan updated`;
  }
}

/** The evidence after the colon: the culprit metrics, else the recorded reason. */
function evidence(r: DecisionRecord): string {
  const culprits = ['rollback', 'hold', 'pause', 'abort'].includes(r.decision) ? formatCulprits(r) : '';
  return culprits || r.reason;
}

/**
 * Slack treats `<` as the start of a link or mention (`<!channel>`) and `&` as an entity;
 * escape both so record text is shown as written. `>` only quotes at line start, and a
 * summary always starts with an emoji, so it is left readable.
 */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

export function notifySummary(r: DecisionRecord): string {
  const by = r.actor !== 'controller' ? ` by ${r.actor}` : '';
  const why = evidence(r);
  return escapeSlack(`${EMOJI[r.decision]} ${r.rollout} ${headline(r)}${by}${why ? `: ${why}` : ''}`);
}
