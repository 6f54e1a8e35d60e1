/**
 * The scope check's answer from what a provider says the admin can grant: a scope of which nothing
 * can be granted is refused before approvers see it, with what was left out and why; otherwise
 * the left-out objects travel with the request to its card.
 */
export function grantableVerdict(grantable: { leftOut: string[]; nothingGrantable: boolean }, databaseId: string): { problems: string[]; leftOut: string[] } {
  if (grantable.nothingGrantable) {
    return { problems: [`Nothing in this scope can be granted on ${databaseId}: ${grantable.leftOut.join('; ')}.`], leftOut: grantable.leftOut };
  }
  return { problems: [], leftOut: grantable.leftOut };
}
