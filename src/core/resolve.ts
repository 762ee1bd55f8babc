/**
 * People name rollouts as `namespace/name` or, when unambiguous, just `name`.
 */
export function resolveRollout(nameOrId: string, ids: readonly string[]): string | null {
  if (nameOrId.includes('/')) return ids.includes(nameOrId) ? nameOrId : null;
  const matches = ids.filter((id) => id.slice(id.indexOf('/') + 1) === nameOrId);
  return matches.length === 1 ? matches[0]! : null;
}
